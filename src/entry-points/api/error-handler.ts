import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable } from '../../adapters/unavailable.js';
import { CouponError, ErrorCode } from '../../errors.js';

declare module 'fastify' {
  interface FastifyReply {
    /** The code of the error body sent ('' for a success), for the answer metrics. */
    errorCode: string;
  }
}

interface ErrorBody {
  isSuccess: false;
  code: string;
  comment: string;
}

/** Every error body leaves through here, its code kept on the reply. */
function sendError(reply: FastifyReply, status: number, code: string, comment: string): FastifyReply {
  reply.errorCode = code;
  const body: ErrorBody = { isSuccess: false, code, comment };
  return reply.status(status).send(body);
}

/** Answers a typed refusal; also what a route uses to reply one it holds as a value. */
export function sendCouponError(reply: FastifyReply, err: CouponError): FastifyReply {
  return sendError(reply, err.status, err.code, err.message);
}

/** The one place where errors become HTTP answers: typed errors keep their code, the framework's own map to ours. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.decorateReply('errorCode', '');
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof CouponError) {
      if (err.status >= 500) req.log.warn({ err }, 'request failed');
      return sendCouponError(reply, err);
    }
    if (err.validation) {
      return sendError(reply, 400, ErrorCode.INVALID_REQUEST, `invalid ${err.validationContext ?? 'request'}: ${err.message}`);
    }
    if (isStorageUnavailable(err)) {
      req.log.warn({ err: err.message }, 'storage unavailable');
      return sendError(reply, 503, ErrorCode.UNAVAILABLE, 'storage is unavailable, try again shortly');
    }
    // Fastify's own client errors: malformed or empty JSON, oversized body, wrong content type.
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is larger than 16384 bytes' : err.message;
      return sendError(reply, status, ErrorCode.INVALID_REQUEST, message);
    }
    req.log.error({ err }, 'unexpected error');
    return sendError(reply, 500, ErrorCode.INTERNAL_ERROR, 'Internal Server Error');
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 404, ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url}`);
  });
}
