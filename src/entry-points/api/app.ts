import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { reservationsOf } from '../../async-issue/coupon-mirror.js';
import { createReserver } from '../../async-issue/reserver.js';
import { createStrategy, type IssueStrategy } from '../../sync-issue/index.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { createWaitingRoom } from '../../waiting-room/waiting-room.service.js';
import { createFastify } from './fastify-instance.js';
import { registerMetrics } from './metrics.js';
import { registerCouponRoutes } from './routes/coupons.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIssueRoutes } from './routes/issue.js';
import { registerQueueRoutes } from './routes/queue.js';

export interface AppOptions {
  /** Defaults to the one named by ISSUE_STRATEGY. */
  readonly strategy?: IssueStrategy;
  /** A registry shared with the consumer (`coupon start`); otherwise the app's own, unless METRICS_ENABLED=0. */
  readonly metrics?: Metrics;
}

export async function buildApp(deps: Deps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(deps.log);
  const strategy = opts.strategy ?? createStrategy(deps.config.issueStrategy, deps);
  registerHealthRoutes(app, deps);
  const room = createWaitingRoom(deps);
  registerCouponRoutes(app, { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) }, deps.config.adminToken, room.couponSaved);
  registerQueueRoutes(app, room);
  const metrics = opts.metrics ?? (deps.config.metricsEnabled ? createMetrics() : undefined);
  registerIssueRoutes(app, strategy, createReserver(deps), metrics && registerMetrics(app, deps, metrics), room);
  return app;
}
