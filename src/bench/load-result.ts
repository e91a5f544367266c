import type { LoadSpec } from './load-spec.cjs';

export type GeneratorName = 'autocannon' | 'wrk';

/** How hard and how long to push: a closed model (fixed connections) or an open one (fixed arrival rate). */
export interface LoadShape {
  readonly url: string;
  readonly durationSec: number;
  readonly connections: number;
  /** Requests per second for the open model; null for the closed model. */
  readonly rate: number | null;
}

export interface LoadPhase extends LoadShape {
  readonly spec: LoadSpec;
  /** Live counts; the generator adds to it while it runs (the progress bar reads it). */
  readonly counters: SharedArrayBuffer;
}

export interface LatencyMs {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadResult {
  readonly generator: GeneratorName | 'open-model';
  readonly durationSec: number;
  readonly responses: Readonly<Record<string, number>>;
  readonly requestsPerSec: number;
  readonly latencyMs: LatencyMs;
  /** Connection errors and timeouts: requests that got no HTTP answer. */
  readonly errors: number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function totalOf(responses: Readonly<Record<string, number>>): number {
  return Object.values(responses).reduce((a, b) => a + b, 0);
}

/**
 * One result from consecutive turns of one load: counts and time summed. Percentiles cannot be summed:
 * each is the turns' values weighted by their answers (an approximation), the maximum is the largest.
 */
export function mergeLoads(loads: readonly LoadResult[]): LoadResult {
  const [first] = loads;
  if (first === undefined) throw new Error('no load to merge');
  if (loads.length === 1) return first;
  const responses: Record<string, number> = {};
  for (const l of loads) for (const [k, n] of Object.entries(l.responses)) responses[k] = (responses[k] ?? 0) + n;
  const durationSec = loads.reduce((t, l) => t + l.durationSec, 0);
  const answers = loads.map((l) => totalOf(l.responses));
  const all = answers.reduce((a, b) => a + b, 0);
  const weighted = (p: 'p50' | 'p90' | 'p99') => round(loads.reduce((t, l, i) => t + l.latencyMs[p] * (answers[i] ?? 0), 0) / Math.max(1, all), 2);
  return {
    generator: first.generator,
    durationSec,
    responses,
    requestsPerSec: round(all / durationSec, 0),
    latencyMs: { p50: weighted('p50'), p90: weighted('p90'), p99: weighted('p99'), max: Math.max(...loads.map((l) => l.latencyMs.max)) },
    errors: loads.reduce((t, l) => t + l.errors, 0),
  };
}
