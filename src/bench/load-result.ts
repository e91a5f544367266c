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
