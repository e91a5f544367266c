import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { ErrorCode } from '../../src/errors.js';
import { createRedisLockStrategy } from '../../src/sync-issue/redis-lock.js';
import { waitUntil } from '../helpers/drain.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

describe('redis-lock when a holder outlives its lease', () => {
  it('the late holder\'s fenced write fails (503) instead of over-issuing', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1 });
    // Two "processes", each with its own local mutex, sharing the Redis lock, with a short lease.
    const lock = { leaseMs: 300, waitMs: 5000 };
    const a = createRedisLockStrategy(t.deps, lock);
    const b = createRedisLockStrategy(t.deps, lock);
    // Another transaction holds the coupon row, so A's write stalls past its lease.
    const blocker = await t.deps.db.getConnection();
    await blocker.beginTransaction();
    await blocker.query('SELECT id FROM coupons WHERE id = ? FOR UPDATE', [couponId]);
    const first = a.issue(couponId, 1).then(() => 'ok', (e: { code?: string }) => e.code);
    await waitUntil('A holds the lock', async () => (await t.deps.redis.exists(t.deps.keys.issueLock(couponId))) === 1);
    // B gets the lock only once A's lease expired, reads the same count, and stalls on the row too.
    const second = b.issue(couponId, 2).then(() => 'ok', (e: { code?: string }) => e.code);
    // Release the row only once both have read the count and wait on the row to write it.
    await waitUntil('A and B both blocked on the coupon row', async () => {
      const [rows] = (await t.deps.db.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'UPDATE coupons%'",
        [t.config.mysqlDatabase],
      )) as unknown as [{ n: number }[]];
      return Number(rows[0]!.n) === 2;
    }, 15_000);
    await blocker.commit();
    blocker.release();
    const results = [await first, await second];
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results).toContain(ErrorCode.UNAVAILABLE);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 1, distinctUsers: 1, issuedQuantity: 1, totalQuantity: 1 });
  });
});
