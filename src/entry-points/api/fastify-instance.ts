import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { UnavailableError } from '../../errors.js';
import { registerErrorHandling } from './error-handler.js';
import { REQUEST_ID_HEADER, requestIdGenerator } from './request-id.js';

export const BODY_LIMIT_BYTES = 16 * 1024;

/** One log line per request, written after the answer (Fastify's default writes two). */
class OneLineRequestLog extends LogController {
  constructor(private readonly enabled: boolean) {
    super();
  }

  override incomingRequest(): void {}
  override requestCompleted(err: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (!this.enabled) return; // spare building the line under load-test log levels
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), err: err?.message }, 'request');
  }
}

/**
 * The configured server without routes: what every request pays before its handler (body limit,
 * strict validation, logging, error mapping, the shutdown refusal). The API adds its routes; the
 * bench's no-I/O baseline adds one, so both are measured on the same footing.
 */
export function createFastify(log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new OneLineRequestLog(log.isLevelEnabled('info')),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests that arrive while closing get our 503 body (below), not Fastify's own.
    return503OnClosing: false,
    // Our contract rejects wrong types and unknown fields: no coercion, no silent removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Every log line of a request carries its id (reqId), and the answer returns it in x-request-id.
    genReqId: requestIdGenerator(),
  });
  registerErrorHandling(app);
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async () => {
    if (closing) throw new UnavailableError('the server is shutting down; try again');
  });
  return app;
}
