import type { FastifyInstance, onRouteHookHandler } from 'fastify';
import type { Deps } from '../../deps.js';
import { reservationsOf } from '../../async-issue/coupon-mirror.js';
import { createReserver } from '../../async-issue/reserver.js';
import { createStrategy, type IssueStrategy } from '../../sync-issue/index.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { createFastify } from './fastify-instance.js';
import { registerMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { registerCouponRoutes } from './routes/coupons.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIssueRoutes } from './routes/issue.js';
import { registerLiveRoutes } from './routes/live.js';
import { registerPages } from './routes/pages.js';

export interface AppOptions {
  /** Defaults to the one named by ISSUE_STRATEGY. */
  readonly strategy?: IssueStrategy;
  /** A registry shared with the consumer (`coupon start`); otherwise the app's own, unless METRICS_ENABLED=0. */
  readonly metrics?: Metrics;
  /** Sees every route as it is registered, before any (the OpenAPI test lists them this way). */
  readonly onRoute?: onRouteHookHandler;
}

export async function buildApp(deps: Deps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(deps.log);
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  const strategy = opts.strategy ?? createStrategy(deps.config.issueStrategy, deps);
  // First: it collects every route registered after it (GET /openapi.json, /docs).
  await registerOpenApi(app);
  registerHealthRoutes(app, deps);
  registerCouponRoutes(app, { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) }, deps.config.adminToken);
  const metrics = opts.metrics ?? (deps.config.metricsEnabled ? createMetrics() : undefined);
  registerIssueRoutes(app, strategy, createReserver(deps), metrics && registerMetrics(app, deps, metrics));
  registerLiveRoutes(app, deps);
  await registerPages(app, deps);
  return app;
}
