import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../../deps.js';
import { getCoupon } from '../../../domain/coupon.service.js';
import { ErrorCode } from '../../../errors.js';
import { createLiveHub, type LiveHub, type LiveSnapshot } from '../../../metrics/live-snapshots.js';
import { errorResponses, idParams } from '../openapi.js';
import { parseId } from '../params.js';

/**
 * GET /v1/coupons/:couponId/live: Server-Sent Events, one JSON snapshot a second (see LiveSnapshot).
 * Streams share their coupon's snapshot (one read a second per process), so an open page holds no
 * database connection; they end when the server closes.
 */
export function registerLiveRoutes(app: FastifyInstance, deps: Deps): LiveHub {
  const hub = createLiveHub(deps);
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    hub.stop();
    for (const res of open) res.end();
  });

  app.get<{ Params: { couponId: string } }>('/v1/coupons/:couponId/live', {
    schema: {
      tags: ['live'],
      summary: 'A coupon event, live: one JSON snapshot a second as Server-Sent Events',
      description: 'Each `data:` line holds {couponId, at, title, state (upcoming | open | sold out | closed), dateIssueStart, dateIssueEnd, '
        + 'issued, total, persisted, queued, pending, gap, answers (counts of the second before by code: OK for a 200/202, else the error code), '
        + 'p50Ms, p99Ms, soldOutAt, soldOutAfterMs}, summed over every API process. The stream opens with an `event: history` '
        + 'whose data is [{second, answers, p50Ms, p99Ms}] for the last five minutes.',
      params: idParams('couponId'),
      response: {
        200: { description: 'text/event-stream of snapshots', content: { 'text/event-stream': { schema: Type.String() } } },
        ...errorResponses({ 404: [ErrorCode.COUPON_NOT_EXIST] }),
      },
    },
  }, async (req, reply) => {
    const couponId = parseId(req.params.couponId, 'couponId');
    await getCoupon(deps, couponId);
    const res = reply.raw;
    // Snapshots that come while the history is read wait for the headers; the page skips the seconds it already has.
    const waiting: LiveSnapshot[] = [];
    let ready = false;
    const send = (s: LiveSnapshot) => (ready ? res.write(`data: ${JSON.stringify(s)}\n\n`) : waiting.push(s));
    // Before the hijack, so a refusal (too many events followed) is an ordinary error answer.
    let unsubscribe: (() => void) | undefined = hub.subscribe(couponId, send);
    res.on('close', () => {
      open.delete(res);
      unsubscribe?.();
      unsubscribe = undefined;
    });
    const past = await hub.history(couponId);
    if (unsubscribe === undefined) return reply.hijack(); // gone while the history was read
    reply.hijack();
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\nevent: history\ndata: ${JSON.stringify(past)}\n\n`);
    ready = true;
    const last = hub.latest(couponId);
    for (const s of waiting.length > 0 ? waiting : last ? [last] : []) send(s);
    open.add(res);
  });
  return hub;
}
