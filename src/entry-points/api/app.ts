import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Deps } from '../../deps.js';
import { UnavailableError } from '../../errors.js';
import { reservationsOf } from '../../async-issue/coupon-mirror.js';
import { createReserver } from '../../async-issue/reserver.js';
import { createStrategy, type IssueStrategy } from '../../sync-issue/index.js';
import { registerErrorHandling } from './error-handler.js';
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

export interface AppOptions {
  /** Defaults to the one named by ISSUE_STRATEGY. */
  readonly strategy?: IssueStrategy;
}

export async function buildApp(deps: Deps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new OneLineRequestLog(deps.log.isLevelEnabled('info')),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests that arrive while closing get our 503 body (below), not Fastify's own.
    return503OnClosing: false,
    // Our contract rejects wrong types and unknown fields: no coercion, no silent removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  registerErrorHandling(app);
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async () => {
    if (closing) throw new UnavailableError('the server is shutting down; try again');
  });
  const strategy = opts.strategy ?? createStrategy(deps.config.issueStrategy, deps);
  registerHealthRoutes(app, deps);
  registerCouponRoutes(app, { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) }, deps.config.adminToken);
  const reserver = createReserver(deps);
  app.addHook('onClose', () => reserver.close());
  registerIssueRoutes(app, strategy, reserver);
  if (deps.config.benchBaseline) {
    // The bench's ceiling: same framework, validation and serialisation as /v1/issue, no I/O.
    app.post('/bench/noop', { schema: { body: IssueRequest, response: { 200: SuccessResponse } } }, async () => ({ isSuccess: true, comment: null }));
  }
  return app;
}
