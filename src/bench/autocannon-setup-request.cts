// Loaded by path inside each autocannon worker thread: functions cannot cross into workers.
import { threadId, workerData } from 'node:worker_threads';
import { createBodyGenerator, type LoadSpec } from './load-spec.cjs';

interface WorkerOpts { readonly benchLoad: LoadSpec }
interface RequestParams { body?: string | Buffer }

// threadId is unique per worker and >= 1, so each worker draws fresh users from its own range.
const nextBody = createBodyGenerator((workerData as { opts: WorkerOpts }).opts.benchLoad, threadId);

export = function setupRequest<R extends RequestParams>(req: R): R {
  req.body = nextBody();
  return req;
};
