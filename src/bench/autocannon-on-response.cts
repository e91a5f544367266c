// Loaded by path inside each autocannon worker thread; counts into the buffer the main thread reads.
import { workerData } from 'node:worker_threads';
import { countResponse } from './response-counters.cjs';

const counters = new Int32Array((workerData as { opts: { benchCounters: SharedArrayBuffer } }).opts.benchCounters);

export = function onResponse(status: number, body: string): void {
  countResponse(counters, status, body);
};
