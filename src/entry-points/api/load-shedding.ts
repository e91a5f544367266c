import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../errors.js';
import type { SecurityConfig } from '../../security-config.js';
import { body } from './error-handler.js';

/** Pressure is sampled this often, so a request is refused within about this long of the overload. */
const SAMPLE_INTERVAL_MS = 250;
const RETRY_AFTER_S = '2';
const SHED = body(ErrorCode.UNAVAILABLE, 'the server is overloaded; try again shortly');

/**
 * While the mean event-loop delay or the heap is over its threshold, every request but /health is
 * answered 503 at once (before identity or body work), rather than queued until all of them time out.
 * Returns what /health reports.
 */
export async function registerLoadShedding(app: FastifyInstance, security: SecurityConfig): Promise<() => boolean> {
  if (security.overloadEventLoopDelayMs === 0 && security.overloadHeapUsedBytes === 0) return () => false;
  await app.register(underPressure, {
    sampleInterval: SAMPLE_INTERVAL_MS,
    maxEventLoopDelay: security.overloadEventLoopDelayMs,
    maxHeapUsedBytes: security.overloadHeapUsedBytes,
    pressureHandler: (req, reply) => {
      if (req.url === '/health') return; // let through: /health must answer, to say so
      void reply.status(503).header('retry-after', RETRY_AFTER_S);
      // A returned value is sent as the reply, without our error handler (no log line per shed request);
      // the plugin's types say void.
      return SHED as never;
    },
  });
  return () => app.isUnderPressure();
}
