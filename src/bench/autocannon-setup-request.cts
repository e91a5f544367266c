// Loaded by path inside each autocannon worker thread: functions cannot cross into workers.
import { workerData } from 'node:worker_threads';
import { createRequestGenerator, type LoadSpec } from './load-spec.cjs';

interface WorkerOpts { readonly benchLoad: LoadSpec; readonly benchStreams: SharedArrayBuffer; readonly workers: number }
interface RequestParams { body?: string | Buffer; headers?: Record<string, string> }

const opts = (workerData as { opts: WorkerOpts }).opts;
// A ticket from a counter the workers share numbers them 0..workers-1 (threadIds are not dense),
// so each draws fresh users from its own range, or its own turn of the token pool.
const stream = Atomics.add(new Int32Array(opts.benchStreams), 0, 1);
const next = createRequestGenerator(opts.benchLoad, stream, opts.workers);

export = function setupRequest<R extends RequestParams>(req: R): R {
  const { body, authorization } = next();
  req.body = body;
  // autocannon copies the headers into a fresh object for every request it builds.
  if (authorization !== undefined) req.headers = { ...req.headers, authorization };
  return req;
};
