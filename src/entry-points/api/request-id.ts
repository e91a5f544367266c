import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Carries the request id in both directions: given by a proxy in front, returned on every answer. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a proxy may pass in; anything else (too long, odd characters) is replaced, as it goes into the logs. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's genReqId: a per-process random prefix and a counter, unique across processes and restarts
 * and cheaper than a UUID per request; an acceptable id from the request's own header wins.
 */
export function requestIdGenerator(): (req: IncomingMessage) => string {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return (req) => {
    const given = req.headers[REQUEST_ID_HEADER];
    if (typeof given === 'string' && ACCEPTED.test(given)) return given;
    return `${prefix}-${(++n).toString(36)}`;
  };
}
