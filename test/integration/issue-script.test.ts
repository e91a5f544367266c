import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCouponRules } from '../../src/async-issue/coupon-mirror.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { createReserver } from '../../src/async-issue/reserver.js';
import { ReserveCode } from '../../src/adapters/redis/scripts.js';
import { ErrorCode } from '../../src/errors.js';
import { soldOutWithCachedWinners } from '../helpers/sold-out.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

const start = new Date('2026-12-01T10:00:00Z');
const end = new Date('2026-12-01T11:00:00Z');
let nextId = 1_000_000;

/** Publishes rules for a coupon that exists only in Redis, to call the script directly. */
async function redisCoupon(total: number | null): Promise<number> {
  const id = nextId++;
  await publishCouponRules(t.deps, { id, issueMode: null, totalQuantity: total, dateIssueStart: start, dateIssueEnd: end });
  return id;
}
const reserveAt = (couponId: number, userId: number, at: number) =>
  t.deps.scripts.issueReserve(couponId, userId, at).then((r) => ReserveCode[r.outcome]);
const inside = start.getTime() + 1000;

describe('issue-reserve.lua', () => {
  it('sells exactly N: the Nth unit is reserved, the N+1th refused', async () => {
    const id = await redisCoupon(3);
    expect(await reserveAt(id, 1, inside)).toBe(1);
    expect(await reserveAt(id, 2, inside)).toBe(1);
    expect(await reserveAt(id, 3, inside)).toBe(1); // the last unit: not lost to an off-by-one
    expect(await reserveAt(id, 4, inside)).toBe(-4);
    expect(await t.deps.redis.hlen(t.deps.keys.users(id))).toBe(3);
    expect(await t.deps.redis.xlen(t.deps.keys.stream(id))).toBe(3);
  });

  it('returns the units held once reserved (a repeat leaves the count as it was)', async () => {
    const id = await redisCoupon(3);
    const held = (userId: number, at = inside) => t.deps.scripts.issueReserve(id, userId, at).then((r) => r.held);
    expect(await held(1)).toBe(1);
    expect(await held(2)).toBe(2);
    expect(await held(2, inside + 5)).toBe(0); // duplicated: nothing held by this request
    expect(await held(3)).toBe(3);
    expect(await t.deps.redis.hget(t.deps.keys.users(id), '2')).toBe(String(inside)); // the first reservation's time, not overwritten
  });

  it('exactly N of many concurrent callers win', async () => {
    const id = await redisCoupon(50);
    const codes = await Promise.all(Array.from({ length: 500 }, (_, i) => reserveAt(id, i + 1, inside)));
    expect(codes.filter((c) => c === 1)).toHaveLength(50);
    expect(codes.filter((c) => c === -4)).toHaveLength(450);
    expect(await t.deps.redis.xlen(t.deps.keys.stream(id))).toBe(50);
  });

  it('answers a repeat user "duplicated" before "sold out", and a repeat takes no unit', async () => {
    const id = await redisCoupon(2);
    expect(await reserveAt(id, 1, inside)).toBe(1);
    expect(await reserveAt(id, 1, inside)).toBe(-3);
    expect(await reserveAt(id, 2, inside)).toBe(1);
    expect(await reserveAt(id, 1, inside)).toBe(-3);
    expect(await reserveAt(id, 3, inside)).toBe(-4);
    expect(await t.deps.redis.xlen(t.deps.keys.stream(id))).toBe(2);
  });

  it('never runs out when unlimited', async () => {
    const id = await redisCoupon(null);
    const codes = await Promise.all(Array.from({ length: 300 }, (_, i) => reserveAt(id, i + 1, inside)));
    expect(codes.every((c) => c === 1)).toBe(true);
    expect(await t.deps.redis.hlen(t.deps.keys.users(id))).toBe(300);
  });

  it('opens at start inclusive and closes at end exclusive', async () => {
    const id = await redisCoupon(10);
    expect(await reserveAt(id, 1, start.getTime() - 1)).toBe(-2);
    expect(await reserveAt(id, 2, start.getTime())).toBe(1);
    expect(await reserveAt(id, 3, end.getTime() - 1)).toBe(1);
    expect(await reserveAt(id, 4, end.getTime())).toBe(-2);
    expect(await t.deps.redis.hlen(t.deps.keys.users(id))).toBe(2);
  });

  it('answers "not loaded" for a coupon Redis does not know, writing nothing', async () => {
    expect(await reserveAt(424242, 1, inside)).toBe(-1);
    expect(await t.deps.redis.exists(t.deps.keys.users(424242), t.deps.keys.stream(424242))).toBe(0);
  });
});

describe('reserver (hot path)', () => {
  it('answers COUPON_NOT_EXIST for an id MySQL does not have either', async () => {
    await expect(createReserver(t.deps).reserve(987654321, 1)).rejects.toMatchObject({ code: ErrorCode.COUPON_NOT_EXIST });
  });

  it('loads a coupon that exists only in MySQL on first use', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1 });
    const reserver = createReserver(t.deps);
    await reserver.reserve(couponId, 1);
    await expect(reserver.reserve(couponId, 1)).rejects.toMatchObject({ code: ErrorCode.DUPLICATED_COUPON_ISSUE });
    await expect(reserver.reserve(couponId, 2)).rejects.toMatchObject({ code: ErrorCode.INVALID_COUPON_ISSUE_QUANTITY });
  });

  it('keeps answering duplicated vs sold out correctly from the sold-out cache', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 2 });
    const reserver = createReserver(t.deps);
    await reserver.reserve(couponId, 1);
    await reserver.reserve(couponId, 2);
    for (let i = 0; i < 3; i++) { // the first sold-out answer snapshots the winners; later ones use it
      await expect(reserver.reserve(couponId, 3 + i)).rejects.toMatchObject({ code: ErrorCode.INVALID_COUPON_ISSUE_QUANTITY });
      await expect(reserver.reserve(couponId, 1)).rejects.toMatchObject({ code: ErrorCode.DUPLICATED_COUPON_ISSUE });
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it('drops its cached winners once a repair changed them, even when the count is back where it was', async () => {
    const { couponId, reserver: first } = await soldOutWithCachedWinners(t.deps);
    // User 2's entry was dead-lettered (acknowledged and deleted, never persisted): repair frees the slot...
    const entries = await t.deps.redis.xrange(t.deps.keys.stream(couponId), '-', '+');
    const entryOf2 = entries.find(([, f]) => f[f.indexOf('u') + 1] === '2')!;
    await t.deps.redis.xdel(t.deps.keys.stream(couponId), entryOf2[0]);
    expect((await reconcileCoupon(t.deps, couponId, { repair: true })).reservedNotPersisted).toEqual([2]);
    // ...another API process gives it to user 5: the count is 2 again, the winners are not the same.
    await createReserver(t.deps).reserve(couponId, 5);
    await new Promise((r) => setTimeout(r, 1100)); // past the rules cache's one second
    expect(await first.decide(couponId, 5)).toMatchObject({ code: ErrorCode.DUPLICATED_COUPON_ISSUE });
    expect(await first.decide(couponId, 2)).toMatchObject({ code: ErrorCode.INVALID_COUPON_ISSUE_QUANTITY });
  });

  it('refuses outside the window with INVALID_COUPON_ISSUE_DATE', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 5, start: new Date(Date.now() + 60_000), end: new Date(Date.now() + 120_000) });
    await expect(createReserver(t.deps).reserve(couponId, 1)).rejects.toMatchObject({ code: ErrorCode.INVALID_COUPON_ISSUE_DATE });
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(0);
  });
});

describe('a coupon created over leftovers of an earlier database', () => {
  it('starts with an empty reservation book, whatever Redis held under its id', async () => {
    const { createCoupon } = await import('../../src/domain/coupon.service.js');
    const input = {
      title: 'fresh', totalQuantity: 2, discountAmount: 1, minAvailableAmount: 0,
      dateIssueStart: new Date(Date.now() - 1000), dateIssueEnd: new Date(Date.now() + 60_000),
    };
    const before = await createCoupon(t.coupons, input);
    // Leftovers under the next id, as when the database was recreated and the id is used again.
    await t.deps.redis.hset(t.deps.keys.users(before.id + 1), '901', '1', '902', '1');
    const coupon = await createCoupon(t.coupons, input);
    expect(coupon.id).toBe(before.id + 1);
    expect(await t.deps.redis.hlen(t.deps.keys.users(coupon.id))).toBe(0);
    const reserver = createReserver(t.deps);
    await reserver.reserve(coupon.id, 1);
    await reserver.reserve(coupon.id, 2);
    await expect(reserver.reserve(coupon.id, 3)).rejects.toMatchObject({ code: ErrorCode.INVALID_COUPON_ISSUE_QUANTITY });
  });
});
