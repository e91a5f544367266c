import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_GROUP } from '../../src/adapters/redis/keys.js';
import { ReservationStreams } from '../../src/async-issue/stream/reservation-streams.js';
import { createLiveAnswers, LATENCY_BOUNDS_MS, LIVE_SECOND_TTL_S } from '../../src/metrics/live-answers.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

/** Every flushed second of a coupon, summed field by field (a flush may fall either side of a second's edge). */
async function flushedOf(couponId: number): Promise<{ fields: Record<string, number>; ttls: number[] }> {
  const keys = await t.deps.redis.keys(`${t.deps.keys.liveSecond(couponId, 0).slice(0, -1)}*`);
  const fields: Record<string, number> = {};
  const ttls: number[] = [];
  for (const key of keys) {
    for (const [f, v] of Object.entries(await t.deps.redis.hgetall(key))) fields[f] = (fields[f] ?? 0) + Number(v);
    ttls.push(await t.deps.redis.ttl(key));
  }
  return { fields, ttls };
}

describe('the metrics\' Redis reads and writes, one call per coupon', () => {
  it('backlogs: every coupon of one pipeline read as itself, with or without a stream and a group', async () => {
    const [loaded, noGroup, nothing] = [1, 2, 3];
    const now = Date.now();
    await t.deps.scripts.loadCoupon({ couponId: loaded, totalQuantity: 10, startMs: now - 60_000, endMs: now + 60_000, issueMode: 'ASYNC', resetFirst: true, epoch: 'e' });
    for (const userId of [11, 12, 13]) expect((await t.deps.scripts.issueReserve(loaded, userId, now)).outcome).toBe('RESERVED');
    const streams = new ReservationStreams(t.deps);
    expect(await streams.read(loaded, 'c1', '>', 1)).toHaveLength(1);
    // A stream without the group, and a users hash of two members.
    await t.deps.redis.xadd(t.deps.keys.stream(noGroup), '*', 'u', '21', 't', String(now));
    await t.deps.redis.hset(t.deps.keys.users(noGroup), '21', String(now), '22', String(now));

    const backlogs = await streams.backlogs([loaded, noGroup, nothing]);
    expect([...backlogs]).toEqual([
      [loaded, { reserved: 3, queued: 3, pending: 1 }],
      [noGroup, { reserved: 2, queued: 1, pending: 0 }],
      [nothing, { reserved: 0, queued: 0, pending: 0 }],
    ]);
    expect(await t.deps.redis.xinfo('GROUPS', t.deps.keys.stream(loaded))).toEqual([expect.arrayContaining(['name', CONSUMER_GROUP])]);
    expect(await streams.backlogs([])).toEqual(new Map());
  });

  it('live answers: each flush adds exactly what was recorded since the last, per coupon, code and latency bucket', async () => {
    const errors: unknown[] = [];
    const live = createLiveAnswers(t.deps, (err) => errors.push(err), 3_600_000);
    const [a, b] = [101, 102];
    try {
      for (let i = 0; i < 5; i++) live.record(a, 'OK', 0.05);
      live.record(a, 'SOLD_OUT', 2);
      live.record(b, 'DUPLICATED', 1e9);
      await live.flush();
      // A second flush with nothing recorded writes nothing; a third adds to what is there.
      await live.flush();
      live.record(a, 'SOLD_OUT', 2);
      await live.flush();
      await live.flush();
    } finally {
      await live.stop();
    }
    expect(errors).toEqual([]);
    const bucketOf2Ms = LATENCY_BOUNDS_MS.findIndex((bound) => 2 <= bound);
    const fa = await flushedOf(a);
    expect(fa.fields).toEqual({ 'c:OK': 5, 'c:SOLD_OUT': 2, 'l:0': 5, [`l:${bucketOf2Ms}`]: 2 });
    const fb = await flushedOf(b);
    expect(fb.fields).toEqual({ 'c:DUPLICATED': 1, [`l:${LATENCY_BOUNDS_MS.length}`]: 1 });
    for (const ttl of [...fa.ttls, ...fb.ttls]) {
      expect(ttl).toBeGreaterThan(LIVE_SECOND_TTL_S - 60);
      expect(ttl).toBeLessThanOrEqual(LIVE_SECOND_TTL_S);
    }
  });
});
