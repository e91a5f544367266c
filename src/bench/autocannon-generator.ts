import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { readCounters } from './response-counters.cjs';
import { round, totalOf, type LoadPhase, type LoadResult } from './load-result.js';

// The hooks are compiled next to this file as .cjs (dist/bench/); workers require them by path.
const SETUP_REQUEST = fileURLToPath(new URL('./autocannon-setup-request.cjs', import.meta.url));
const ON_RESPONSE = fileURLToPath(new URL('./autocannon-on-response.cjs', import.meta.url));

interface AutocannonLatency { p50: number; p90: number; p99: number; max: number }
interface AutocannonResult { latency: AutocannonLatency; duration: number; errors: number; timeouts: number }

/**
 * Closed model through autocannon's worker threads, so the generator's work stays off the main
 * thread. Every request gets its own body (a fresh user by default), and its user's token under jwt, from the setupRequest hook.
 */
export async function runAutocannon(phase: LoadPhase, workers: number): Promise<LoadResult> {
  const url = new URL(phase.spec.path, phase.url).toString();
  // @types/autocannon 7 lacks `workers` and the string (module path) hooks autocannon 9 takes in
  // worker mode, and our own pass-through options; the object is checked by autocannon at start.
  const opts: Record<string, unknown> = {
    url,
    method: 'POST',
    connections: phase.connections,
    duration: phase.durationSec,
    workers,
    timeout: 10,
    headers: { 'content-type': 'application/json' },
    requests: [{ method: 'POST', setupRequest: SETUP_REQUEST, onResponse: ON_RESPONSE }],
    // Unknown options reach each worker's workerData.opts (structured clone shares the buffer).
    benchLoad: phase.spec,
    benchStreams: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
    benchCounters: phase.counters,
  };
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(opts as unknown as autocannon.Options, (err, res) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(res);
    });
  });
  const responses = readCounters(phase.counters);
  return {
    generator: 'autocannon',
    durationSec: result.duration,
    responses,
    requestsPerSec: round(totalOf(responses) / result.duration, 0),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors + result.timeouts,
  };
}
