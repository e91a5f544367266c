import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable } from '../../adapters/unavailable.js';
import { CouponError, ErrorCode } from '../../errors.js';

export interface ErrorBody {
  isSuccess: false;
  code: string;
  comment: string;
}

export function body(code: string, comment: string): ErrorBody {
  return { isSuccess: false, code, comment };
}

/** Answers a typed refusal; also what a route uses to reply one it holds as a value. */
export function sendCouponError(reply: FastifyReply, err: CouponError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.status(err.status).send(body(err.code, err.message));
}

/** Fastify's own refusals before routing (a bad percent-encoding, a path parameter over 100 characters), in our body. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const comment = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is not valid';
  void reply.status(status).send(body(ErrorCode.INVALID_REQUEST, comment));
}

/** The one place where errors become HTTP answers: typed errors keep their code, the framework's own map to ours. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof CouponError) {
      if (err.status >= 500) req.log.warn({ err }, 'request failed');
      return sendCouponError(reply, err);
    }
    if (err.validation) {
      return reply.status(400).send(body(ErrorCode.INVALID_REQUEST, `invalid ${err.validationContext ?? 'request'}: ${err.message}`));
    }
    // The client left mid-body (a stalled request cut off, a reset): its ECONNRESET is not storage's.
    if (req.raw.readableAborted) return reply.status(400).send(body(ErrorCode.INVALID_REQUEST, 'the request was aborted'));
    if (isStorageUnavailable(err)) {
      req.log.warn({ err: err.message }, 'storage unavailable');
      return reply.status(503).send(body(ErrorCode.UNAVAILABLE, 'storage is unavailable, try again shortly'));
    }
    // Fastify's own client errors: malformed or empty JSON, oversized body, wrong content type.
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is larger than 16384 bytes' : err.message;
      return reply.status(status).send(body(ErrorCode.INVALID_REQUEST, message));
    }
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send(body(ErrorCode.INTERNAL_ERROR, 'Internal Server Error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(body(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url}`));
  });
}
