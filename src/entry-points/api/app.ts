import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Deps } from '../../deps.js';
import { UnavailableError } from '../../errors.js';
import { reservationsOf } from '../../async-issue/coupon-mirror.js';
import { createReserver } from '../../async-issue/reserver.js';
import { RateLimiter } from '../../rate-limit/rate-limiter.js';
import { createStrategy, type IssueStrategy } from '../../sync-issue/index.js';
import { answerClientError, capConnections } from './client-errors.js';
import { frameworkErrors, registerErrorHandling } from './error-handler.js';
import { createIdentity } from './identity.js';
import { registerJsonBodyParser } from './json-body.js';
import { registerLoadShedding } from './load-shedding.js';
import { IssueRequest, SuccessResponse } from './schemas.js';
import { registerCouponRoutes } from './routes/coupons.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIssueRoutes } from './routes/issue.js';

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

const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export interface AppOptions {
  /** Defaults to the one named by ISSUE_STRATEGY. */
  readonly strategy?: IssueStrategy;
}

export async function buildApp(deps: Deps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const security = deps.config.security;
  // Node checks these only every connectionsCheckingInterval: checked each second, a stalled request
  // is cut off within requestTimeout + 1 s (TRAPS.md).
  const requestTimeout = security.requestTimeoutMs;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new OneLineRequestLog(deps.log.isLevelEnabled('info')),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests that arrive while closing get our 503 body (below), not Fastify's own.
    return503OnClosing: false,
    // Our contract rejects wrong types and unknown fields: no coercion, no silent removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
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
  app.addHook('onRequest', async () => {
    if (closing) throw new UnavailableError('the server is shutting down; try again');
  });
  const strategy = opts.strategy ?? createStrategy(deps.config.issueStrategy, deps);
  const identity = createIdentity(security);
  const limiter = new RateLimiter(deps.scripts, security.rateLimitPerUser, security.rateLimitPerIp);
  registerHealthRoutes(app, deps, isOverloaded);
  registerCouponRoutes(app, { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) }, deps.config.adminToken, identity);
  registerIssueRoutes(app, { strategy, reserver: createReserver(deps, { limiter }), identity, limiter, now: deps.now });
  if (deps.config.benchBaseline) {
    // The bench's ceiling: same framework, validation and serialisation as /v1/issue, no I/O.
    app.post('/bench/noop', { schema: { body: IssueRequest, response: { 200: SuccessResponse } } }, async () => ({ isSuccess: true, comment: null }));
  }
  return app;
}
