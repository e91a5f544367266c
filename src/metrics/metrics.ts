import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Which endpoint answered: POST /v1/issue (sync) or POST /v1/issue-async (async). */
export type IssuePath = 'sync' | 'async';

/** Records one answer: `code` is OK for a 2xx, the error body's code otherwise. */
export type AnswerRecorder = (code: string, seconds: number) => void;

/** 0.5 ms (a refusal from memory) to 5 s (a request queued behind a hot row or an outage). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * One registry per process (several in a test process, one per app): Node's default metrics plus the
 * issue endpoints' answers. Other parts (per-coupon gauges, the consumer) register on the same registry.
 */
export interface Metrics {
  readonly registry: Registry;
  answerRecorder(path: IssuePath): AnswerRecorder;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const answers = new Counter({
    name: 'coupon_issue_requests_total',
    help: 'Answers of POST /v1/issue (path="sync") and POST /v1/issue-async (path="async"), by code (OK or the error code)',
    labelNames: ['path', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'coupon_issue_duration_seconds',
    help: 'Time from receiving an issue request to its answer being sent',
    labelNames: ['path'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    answerRecorder(path) {
      // Label children looked up once per code: labels() hashes its arguments on every call.
      const byCode = new Map<string, Counter.Internal>();
      const timer = duration.labels(path);
      return (code, seconds) => {
        let counter = byCode.get(code);
        if (!counter) {
          counter = answers.labels(path, code);
          byCode.set(code, counter);
        }
        counter.inc();
        timer.observe(seconds);
      };
    },
  };
}
