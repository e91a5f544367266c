import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../errors.js';
import type { SecurityConfig } from '../../security-config.js';
import { body } from './error-handler.js';

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
    // Sampled once per threshold: a loop held for a whole interval leaves the plugin no sample and
    // reads as overloaded, which is then true (held at least as long as the threshold).
    sampleInterval: Math.max(100, security.overloadEventLoopDelayMs || 1000),
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
