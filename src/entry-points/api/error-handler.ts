import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable } from '../../adapters/unavailable.js';
import { CouponError, ErrorCode } from '../../errors.js';

/** Records one answer of a route: OK for a success, the error code otherwise (the answer metrics). */
export type AnswerRecorder = (req: FastifyRequest, reply: FastifyReply, code: string) => void;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the routes whose answers are counted (the issue endpoints, unless METRICS_ENABLED=0). */
    recordAnswer?: AnswerRecorder;
  }
}

export interface ErrorBody {
  isSuccess: false;
  code: string;
  comment: string;
}

export function body(code: string, comment: string): ErrorBody {
  return { isSuccess: false, code, comment };
}

/**
 * Every error body leaves through here, and a counted route's refusals and faults are recorded here
 * (an onResponse hook would cost every answer of a flood a listener on the socket).
 */
function sendError(reply: FastifyReply, status: number, code: string, comment: string, record?: AnswerRecorder): FastifyReply {
  record?.(reply.request, reply, code);
  return reply.status(status).send(body(code, comment));
}

/**
 * Answers a typed refusal; also what a route uses to reply one it holds as a value, passing its own
 * recorder (the flood's refusals then skip the route-options lookup the error handler needs).
 */
export function sendCouponError(reply: FastifyReply, err: CouponError, record?: AnswerRecorder): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return sendError(reply, err.status, err.code, err.message, record);
}

/** Fastify's own refusals before routing (a bad percent-encoding, a path parameter over 100 characters), in our body. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const comment = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is not valid';
  void sendError(reply, status, ErrorCode.INVALID_REQUEST, comment);
}

/** The one place where errors become HTTP answers: typed errors keep their code, the framework's own map to ours. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    // Thrown errors only: Fastify builds the route options afresh on every read.
    const record = req.routeOptions.config.recordAnswer;
    if (err instanceof CouponError) {
      if (err.status >= 500) req.log.warn({ err }, 'request failed');
      return sendCouponError(reply, err, record);
    }
    if (err.validation) {
      return sendError(reply, 400, ErrorCode.INVALID_REQUEST, `invalid ${err.validationContext ?? 'request'}: ${err.message}`, record);
    }
    // The client left mid-body (a stalled request cut off, a reset): its ECONNRESET is not storage's.
    if (req.raw.readableAborted) return sendError(reply, 400, ErrorCode.INVALID_REQUEST, 'the request was aborted', record);
    if (isStorageUnavailable(err)) {
      req.log.warn({ err: err.message }, 'storage unavailable');
      return sendError(reply, 503, ErrorCode.UNAVAILABLE, 'storage is unavailable, try again shortly', record);
    }
    // Fastify's own client errors: malformed or empty JSON, oversized body, wrong content type.
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is larger than 16384 bytes' : err.message;
      return sendError(reply, status, ErrorCode.INVALID_REQUEST, message, record);
    }
    req.log.error({ err }, 'unexpected error');
    return sendError(reply, 500, ErrorCode.INTERNAL_ERROR, 'Internal Server Error', record);
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 404, ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url}`);
  });
}
