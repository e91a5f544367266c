import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { createRequestGenerator } from './load-spec.cjs';
import { countResponse, readCounters } from './response-counters.cjs';
import { round, type LoadPhase, type LoadResult } from './load-result.js';

const TICK_MS = 1;
/** After the schedule ends, requests still unanswered this long count as errors. */
const GRACE_MS = 10_000;
const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Open model: request i is due at start + i/rate whatever happened to earlier ones, and its
 * latency runs from that due time, not from when a connection was free. A closed model (and a
 * generator that measures from the actual send) waits for the server and so hides the queueing
 * an overloaded server inflicts on arrivals: coordinated omission.
 */
export async function runOpenModel(phase: LoadPhase): Promise<LoadResult> {
  const rate = phase.rate;
  if (rate === null || rate <= 0) throw new Error('the open model needs a positive --rate');
  const origin = new URL(phase.url).origin;
  const pool = new Pool(origin, { connections: phase.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  // Microseconds, up to 60 s, 3 significant digits.
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const counters = new Int32Array(phase.counters);
  const nextRequest = createRequestGenerator(phase.spec, 0, 1);
  const total = Math.round(rate * phase.durationSec);
  const interval = 1000 / rate;
  let errors = 0;
  let inFlight = 0;
  let abandoning = false;
  let drained: (() => void) | undefined;

  const send = (dueAt: number): void => {
    inFlight++;
    const { body, authorization } = nextRequest();
    const headers = authorization === undefined ? JSON_HEADERS : { ...JSON_HEADERS, authorization };
    pool.request({ origin, path: phase.spec.path, method: 'POST', headers, body })
      .then(async (res) => {
        const body = await res.body.text();
        histogram.recordValue(Math.max(1, Math.round((performance.now() - dueAt) * 1000)));
        countResponse(counters, res.statusCode, body);
      })
      // Requests still out at the end are counted once below, not again as the pool rejects them.
      .catch(() => { if (!abandoning) errors++; })
      .finally(() => {
        if (--inFlight === 0) drained?.();
      });
  };

  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      // Catch up on every request due by now: a late tick must not thin out the arrivals.
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => (drained = resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, GRACE_MS).unref()),
    ]);
  }
  const durationSec = (performance.now() - start) / 1000;
  abandoning = true;
  errors += inFlight;
  await pool.destroy();
  const responses = readCounters(phase.counters);
  const answered = histogram.totalCount;
  const ms = (p: number) => round(histogram.getValueAtPercentile(p) / 1000, 2);
  const result: LoadResult = {
    generator: 'open-model',
    durationSec,
    responses,
    requestsPerSec: round(answered / durationSec, 0),
    latencyMs: { p50: ms(50), p90: ms(90), p99: ms(99), max: round(histogram.maxValue / 1000, 2) },
    errors,
  };
  histogram.destroy();
  return result;
}
