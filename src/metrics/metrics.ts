import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { LocalHistogram } from './local-histogram.js';

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
  /** The text GET /metrics answers: this registry's, or in a cluster worker every process's summed (cluster-metrics.ts). */
  scrape(): Promise<string>;
  answerRecorder(path: IssuePath): AnswerRecorder;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Counted in plain numbers on the hot path and handed to prom-client when scraped: its label
  // children re-validate and hash their labels on every inc (about 180 ns each here).
  const counts = new Map<IssuePath, Map<string, { n: number }>>();
  new Counter({
    name: 'coupon_issue_requests_total',
    help: 'Answers of POST /v1/issue (path="sync") and POST /v1/issue-async (path="async"), by code (OK or the error code)',
    labelNames: ['path', 'code'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, byCode] of counts) for (const [code, c] of byCode) this.inc({ path, code }, c.n);
    },
  });
  const duration = new LocalHistogram(
    'coupon_issue_duration_seconds', 'Time from receiving an issue request to its answer being sent', 'path', DURATION_BUCKETS, registry,
  );
  return {
    registry,
    scrape: () => registry.metrics(),
    answerRecorder(path) {
      const byCode = new Map<string, { n: number }>();
      counts.set(path, byCode);
      const timer = duration.labels(path);
      return (code, seconds) => {
        const c = byCode.get(code);
        if (c) c.n++;
        else byCode.set(code, { n: 1 });
        timer.observe(seconds);
      };
    },
  };
}
