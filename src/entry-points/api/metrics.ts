import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import type { Deps } from '../../deps.js';
import { startConsistencyWatch } from '../../metrics/consistency-watch.js';
import { registerCouponGauges } from '../../metrics/coupon-gauges.js';
import { cachedCouponStates } from '../../metrics/coupon-states.js';
import type { IssuePath, Metrics } from '../../metrics/metrics.js';

/** What records an issue endpoint's answers: an onResponse hook per path. */
export type AnswerHook = (path: IssuePath) => onResponseHookHandler;

/**
 * GET /metrics (the process's, per-coupon gauges, and whatever else shares the registry, such as
 * the consumer under `coupon start`), the consistency watch, and the hook that counts answers.
 */
export function registerMetrics(app: FastifyInstance, deps: Deps, metrics: Metrics): AnswerHook {
  const states = cachedCouponStates(deps);
  registerCouponGauges(metrics.registry, states, deps.log);
  const watch = startConsistencyWatch(states, deps.log, {
    intervalMs: deps.config.consistencyCheckIntervalMs, alertAfterMs: deps.config.consistencyAlertAfterMs,
  });
  app.addHook('onClose', async () => watch.stop());

  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  return (path) => {
    const record = metrics.answerRecorder(path);
    // A callback hook, not an async one: it runs on every answer of the flood.
    return (_req, reply, done) => {
      record(reply.statusCode < 300 ? 'OK' : reply.errorCode || String(reply.statusCode), reply.elapsedTime / 1000);
      done();
    };
  };
}
