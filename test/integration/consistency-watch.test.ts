import { describe, expect, it } from 'vitest';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { drainWithConsumer, waitUntil } from '../helpers/drain.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { parseSamples, valueOf } from '../helpers/metrics.js';
import { useTestApp } from '../helpers/test-app.js';
import { insertTestCoupon } from '../helpers/test-env.js';

// Checks every 100 ms, reports a gap held for 2.5 s (well past the snapshots' 1 s cache): the watch
// of production (5 s, 30 s) at test speed.
const ctx = useTestApp({ CONSISTENCY_CHECK_INTERVAL_MS: '100', CONSISTENCY_ALERT_AFTER_MS: '2500' });
const { logLines } = ctx;

const gapOf = async (couponId: number): Promise<number | undefined> =>
  valueOf(parseSamples((await ctx.app.inject({ url: '/metrics' })).body), 'coupon_consistency_gap', { coupon_id: String(couponId) });

const watchLines = (couponId: number, level: number) => logLines.filter((l) => l.couponId === couponId && l.level === level);

/** An async coupon with 50 reservations, drained into MySQL: Redis and MySQL agree. */
async function drainedCoupon(): Promise<number> {
  const couponId = await insertTestCoupon(ctx.t.deps, { total: 50 });
  expect((await fireIssues([ctx.url], '/v1/issue-async', floodBodies(couponId, 80, 0), 16)).outcomes['202']).toBe(50);
  await drainWithConsumer(ctx.t.deps, couponId, { name: `c${couponId}`, batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 });
  await waitUntil('gap 0 after the drain', async () => (await gapOf(couponId)) === 0);
  return couponId;
}

describe('consistency watch', () => {
  it('a row deleted from MySQL: the gauge shows +1, a warning names the repair after the gap held, repair closes it', async () => {
    const couponId = await drainedCoupon();
    // Checked for a while with the gap at 0: nothing reported.
    await waitUntil('a few checks', async () => (await gapOf(couponId)) === 0 && logLines.length > 0);
    expect(watchLines(couponId, 40)).toEqual([]);

    await ctx.t.deps.db.query('DELETE FROM coupon_issues WHERE coupon_id = ? ORDER BY user_id LIMIT 1', [couponId]);
    await waitUntil('gauge shows the gap', async () => (await gapOf(couponId)) === 1);
    await waitUntil('warning logged', async () => watchLines(couponId, 40).length > 0);
    const [warning] = watchLines(couponId, 40);
    expect(warning).toMatchObject({ gap: 1, reservationGap: 1, countGap: 1, reserved: 50, persisted: 49, issuedQuantity: 50, queued: 0 });
    expect(warning!.msg).toContain(`coupon reconcile ${couponId} --repair`);
    expect(warning!.forMs).toBeGreaterThanOrEqual(2500);

    const r = await reconcileCoupon(ctx.t.deps, couponId, { repair: true });
    expect(r.repaired).toBe(true);
    await waitUntil('gauge back at 0', async () => (await gapOf(couponId)) === 0);
    await waitUntil('recovery logged', async () => watchLines(couponId, 30).some((l) => String(l.msg).includes('agree again')));
    expect(watchLines(couponId, 40)).toHaveLength(1); // reported once per episode
  });

  it('a reservation deleted from Redis: the gauge shows -1 (rows Redis does not know) and the warning follows', async () => {
    const couponId = await drainedCoupon();
    const [first] = await ctx.t.deps.redis.hkeys(ctx.t.deps.keys.users(couponId));
    await ctx.t.deps.redis.hdel(ctx.t.deps.keys.users(couponId), first!);
    await waitUntil('gauge shows the gap', async () => (await gapOf(couponId)) === -1);
    await waitUntil('warning logged', async () => watchLines(couponId, 40).length > 0);
    expect(watchLines(couponId, 40)[0]).toMatchObject({ gap: -1, reservationGap: -1, countGap: 0, reserved: 49, persisted: 50 });
    await reconcileCoupon(ctx.t.deps, couponId, { repair: true });
    await waitUntil('gauge back at 0', async () => (await gapOf(couponId)) === 0);
  });

  it('a gap that closes before the alert delay (a drain in progress) is never reported', async () => {
    const couponId = await drainedCoupon();
    await ctx.t.deps.db.query('UPDATE coupons SET issued_quantity = issued_quantity - 1 WHERE id = ?', [couponId]);
    await waitUntil('gauge shows the gap', async () => (await gapOf(couponId)) === -1);
    await ctx.t.deps.db.query('UPDATE coupons SET issued_quantity = issued_quantity + 1 WHERE id = ?', [couponId]);
    await waitUntil('gauge back at 0', async () => (await gapOf(couponId)) === 0);
    // Held past the alert delay at 0: still nothing reported for this coupon.
    const since = Date.now();
    await waitUntil('past the alert delay', async () => Date.now() - since > 3000 && (await gapOf(couponId)) === 0);
    expect(watchLines(couponId, 40)).toEqual([]);
  });
});
