import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import type { LiveSnapshot } from '../../src/metrics/live-snapshots.js';
import { waitUntil } from '../helpers/drain.js';
import { byCode, summed } from '../helpers/live.js';
import { openSse, type SseReader } from '../helpers/sse.js';
import { useTestApp } from '../helpers/test-app.js';
import { insertTestCoupon } from '../helpers/test-env.js';

const ADMIN_TOKEN = 'live-test-token';
// Two API processes on one database and Redis prefix, as behind a balancer; the first has an admin token.
const ctx = useTestApp({ ADMIN_TOKEN });
let second: FastifyInstance;
let secondUrl: string;

beforeAll(async () => {
  second = await buildApp({ ...ctx.t.deps, config: loadConfig({ ...ctx.t.env, ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
  secondUrl = await second.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => { await second?.close(); });

const SNAPSHOT_FIELDS = ['answers', 'at', 'couponId', 'dateIssueEnd', 'dateIssueStart', 'gap', 'issued', 'p50Ms', 'p99Ms', 'pending',
  'persisted', 'queued', 'soldOutAfterMs', 'soldOutAt', 'state', 'title', 'total'];

describe('GET /v1/coupons/:couponId/live', () => {
  it('every API process streams the same answers, summed over both, exactly by code; issued reaches the total; sold out', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 150 });
    const streams: SseReader<LiveSnapshot>[] = [await openSse(`${ctx.url}/v1/coupons/${couponId}/live`), await openSse(`${secondUrl}/v1/coupons/${couponId}/live`)];
    try {
      for (const s of streams) {
        expect(s.status).toBe(200);
        expect(s.contentType).toContain('text/event-stream');
      }
      await waitUntil('a first snapshot on each stream', async () => streams.every((s) => s.events.length > 0), 5000);
      const before = streams.map((s) => s.events.length);
      const flood = await fireIssues([ctx.url, secondUrl], '/v1/issue-async', floodBodies(couponId, 400, 100), 16);
      const want = byCode(flood.outcomes);
      expect(want.OK).toBe(150);
      expect(Object.keys(want).sort()).toEqual(['DUPLICATED_COUPON_ISSUE', 'INVALID_COUPON_ISSUE_QUANTITY', 'OK']);
      const got = (s: SseReader<LiveSnapshot>, i: number) => summed(s.events.slice(before[i]));
      const same = (a: Record<string, number>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(want).sort());
      // Waited for, then compared: a failure shows the difference rather than a timeout.
      await waitUntil('the answers on both streams', async () => streams.every((s, i) => same(got(s, i))), 15_000).catch(() => {});
      streams.forEach((s, i) => expect(got(s, i), `stream ${i}`).toEqual(want));
      for (const s of streams) {
        const last = s.events.at(-1)!;
        expect(Object.keys(last).sort()).toEqual(SNAPSHOT_FIELDS);
        expect(last).toMatchObject({ couponId, issued: 150, total: 150, state: 'sold out' });
        // A second with answers reports their latency.
        expect(s.events.some((e) => e.p50Ms !== null && e.p99Ms !== null && e.p50Ms <= e.p99Ms)).toBe(true);
      }
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('a stream opened after the flood starts with its history: every answer of it, by code, exactly once', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 50 });
    const flood = await fireIssues([ctx.url, secondUrl], '/v1/issue-async', floodBodies(couponId, 200, 40), 16);
    const want = byCode(flood.outcomes);
    let got: Record<string, number> = {};
    // Each process flushes once a second: wait until both flushes are in, reopening the stream.
    await waitUntil('the flood in a new stream\'s history', async () => {
      const s = await openSse<LiveSnapshot>(`${secondUrl}/v1/coupons/${couponId}/live`);
      await waitUntil('the history event', async () => s.history.length > 0, 5000);
      s.close();
      got = summed(s.history[0] as LiveSnapshot[]);
      return got.OK === 50 && Object.values(got).reduce((a, b) => a + b, 0) >= flood.total;
    }, 10_000).catch(() => {});
    expect(got).toEqual(want);
  });

  it('404 COUPON_NOT_EXIST for a coupon that does not exist; 400 for a bad id', async () => {
    const res = await ctx.app.inject({ url: '/v1/coupons/99999999/live' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'COUPON_NOT_EXIST' });
    expect((await ctx.app.inject({ url: '/v1/coupons/x/live' })).statusCode).toBe(400);
  });

  it('with ADMIN_TOKEN set, the pages and the stream stay open and the admin list does not', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 10 });
    expect((await ctx.app.inject({ url: '/v1/coupons' })).statusCode).toBe(401);
    expect((await ctx.app.inject({ url: '/' })).statusCode).toBe(200);
    expect((await ctx.app.inject({ url: `/events/${couponId}` })).statusCode).toBe(200);
    const s = await openSse<LiveSnapshot>(`${ctx.url}/v1/coupons/${couponId}/live`);
    s.close();
    expect(s.status).toBe(200);
  });
});
