import type { FastifyInstance, onRouteHookHandler } from 'fastify';
import type { Deps } from '../../deps.js';
import { reservationsOf } from '../../async-issue/coupon-mirror.js';
import { createReserver } from '../../async-issue/reserver.js';
import { RateLimiter } from '../../rate-limit/rate-limiter.js';
import { createStrategy, type IssueStrategy } from '../../sync-issue/index.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { createWaitingRoom } from '../../waiting-room/waiting-room.service.js';
import { createFastify } from './fastify-instance.js';
import { registerMetrics } from './metrics.js';
import { createIdentity } from './identity.js';
import { registerOpenApi } from './openapi.js';
import { registerCouponRoutes } from './routes/coupons.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIssueRoutes } from './routes/issue.js';
import { registerLiveRoutes } from './routes/live.js';
import { registerPages } from './routes/pages.js';
import { registerQueueRoutes } from './routes/queue.js';

export interface AppOptions {
  /** Defaults to the one named by ISSUE_STRATEGY. */
  readonly strategy?: IssueStrategy;
  /** A registry shared with the consumer (`coupon start`); otherwise the app's own, unless METRICS_ENABLED=0. */
  readonly metrics?: Metrics;
  /** Sees every route as it is registered, before any (the OpenAPI test lists them this way). */
  readonly onRoute?: onRouteHookHandler;
}

export async function buildApp(deps: Deps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const security = deps.config.security;
  const { app, isOverloaded } = await createFastify(deps.log, security, deps.config.logRequests);
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  const strategy = opts.strategy ?? createStrategy(deps.config.issueStrategy, deps);
  const identity = createIdentity(security);
  const limiter = new RateLimiter(deps.scripts, security.rateLimitPerUser, security.rateLimitPerIp);
  // First: it collects every route registered after it (GET /openapi.json, /docs).
  await registerOpenApi(app);
  registerHealthRoutes(app, deps, isOverloaded);
  const room = createWaitingRoom(deps);
  registerCouponRoutes(app, { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) }, deps.config.adminToken, identity, room.couponSaved);
  registerQueueRoutes(app, room, identity);
  const reserver = createReserver(deps, { limiter });
  app.addHook('onClose', () => reserver.close());
  const metrics = opts.metrics ?? (deps.config.metricsEnabled ? createMetrics() : undefined);
  registerIssueRoutes(app, { strategy, reserver, identity, limiter, now: deps.now, room }, metrics && registerMetrics(app, deps, metrics));
  registerLiveRoutes(app, deps);
  await registerPages(app, deps);
  return app;
}
