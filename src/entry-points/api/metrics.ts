import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { startConsistencyWatch } from '../../metrics/consistency-watch.js';
import { registerCouponGauges } from '../../metrics/coupon-gauges.js';
import { cachedCouponStates } from '../../metrics/coupon-states.js';
import { createLiveAnswers } from '../../metrics/live-answers.js';
import type { IssuePath, Metrics } from '../../metrics/metrics.js';
import type { AnswerRecorder } from './error-handler.js';
import { errorResponses } from './openapi.js';

/** What records an issue endpoint's answers, one recorder per path. */
export type AnswerHook = (path: IssuePath) => AnswerRecorder;

/**
 * GET /metrics (the process's, per-coupon gauges, and whatever else shares the registry, such as
 * the consumer under `coupon start`), the consistency watch, and the hook that counts answers (for
 * Prometheus, and per coupon for the live page).
 */
export function registerMetrics(app: FastifyInstance, deps: Deps, metrics: Metrics): AnswerHook {
  const states = cachedCouponStates(deps);
  registerCouponGauges(metrics.registry, states, deps.log);
  const watch = startConsistencyWatch(states, deps.log, {
    intervalMs: deps.config.consistencyCheckIntervalMs, alertAfterMs: deps.config.consistencyAlertAfterMs,
  });
  // Per coupon and second for the live page, added to Redis once a second (never a command per request).
  const live = createLiveAnswers(deps, (err) => deps.log.warn({ err }, 'live answer counts not flushed'));
  app.addHook('onClose', async () => {
    watch.stop();
    await live.stop();
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'], summary: 'Prometheus metrics (absent with METRICS_ENABLED=0)',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses({}) },
    },
  }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.scrape()));

  return (path) => {
    const record = metrics.answerRecorder(path);
    // Called as the answer is sent, on every answer of the flood: plain numbers, no allocation.
    return (req, reply, code) => {
      const ms = reply.elapsedTime;
      record(code, ms / 1000);
      // A body refused by validation may carry anything as couponId.
      const couponId = (req.body as { couponId?: unknown } | undefined)?.couponId;
      if (typeof couponId === 'number' && Number.isSafeInteger(couponId) && couponId > 0) live.record(couponId, code, ms);
    };
  };
}
