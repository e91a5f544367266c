import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { UnavailableError } from '../../errors.js';
import type { SecurityConfig } from '../../security-config.js';
import { answerClientError, capConnections } from './client-errors.js';
import { frameworkErrors, registerErrorHandling } from './error-handler.js';
import { registerJsonBodyParser } from './json-body.js';
import { registerLoadShedding } from './load-shedding.js';
import { REQUEST_ID_HEADER, requestIdGenerator } from './request-id.js';

export const BODY_LIMIT_BYTES = 16 * 1024;

/** With LOG_REQUESTS, one log line per request, written after the answer (Fastify's default writes two). */
class OneLineRequestLog extends LogController {
  constructor(private readonly enabled: boolean) {
    super();
  }

  override incomingRequest(): void {}
  override requestCompleted(err: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (!this.enabled) return; // off: not even the line is built
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), err: err?.message }, 'request');
  }
}

const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export interface ConfiguredServer {
  readonly app: FastifyInstance;
  /** True while load shedding refuses requests (/health reports it). */
  readonly isOverloaded: () => boolean;
}

/**
 * The configured server without routes: what every request pays before its handler (timeouts and
 * connection cap, strict JSON and validation, request ids, logging, error mapping, load shedding,
 * the shutdown refusal). The API adds its routes; the bench's no-I/O baseline adds one, so both are
 * measured on the same footing.
 */
export async function createFastify(log: Logger, security: SecurityConfig, logRequests: boolean): Promise<ConfiguredServer> {
  // Node checks these only every connectionsCheckingInterval: checked each second, a stalled request
  // is cut off within requestTimeout + 1 s (TRAPS.md).
  const requestTimeout = security.requestTimeoutMs;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new OneLineRequestLog(logRequests && log.isLevelEnabled('info')),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests that arrive while closing get our 503 body (below), not Fastify's own.
    return503OnClosing: false,
    // Our contract rejects wrong types and unknown fields: no coercion, no silent removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Every log line of a request carries its id (reqId), and the answer returns it in x-request-id.
    genReqId: requestIdGenerator(),
    // A hop count means: trust that many proxies nearest to us (Fastify's types omit the number form).
    trustProxy: typeof security.trustProxy === 'number' ? trustHops(security.trustProxy) : security.trustProxy,
    requestTimeout,
    keepAliveTimeout: security.keepAliveTimeoutMs,
    http: { headersTimeout: Math.min(requestTimeout, 5000), connectionsCheckingInterval: Math.min(1000, requestTimeout / 2) },
    clientErrorHandler: answerClientError,
    frameworkErrors,
  });
  capConnections(app.server as Server, security.maxConnections);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  app.decorateRequest('verifiedUserId', null);
  // First of the onRequest hooks: an overloaded process refuses before any other work.
  const isOverloaded = await registerLoadShedding(app, security);
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  // One synchronous hook for both: an async one costs every request a promise and a microtask turn.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    done(closing ? new UnavailableError('the server is shutting down; try again') : undefined);
  });
  return { app, isOverloaded };
}
