import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisNode } from '../../src/adapters/redis/client.js';
import { PersistConsumer } from '../../src/async-issue/consumer/persist-consumer.js';
import { publishCouponRules } from '../../src/async-issue/coupon-mirror.js';
import { createReserver } from '../../src/async-issue/reserver.js';
import { IssueMode } from '../../src/domain/coupon.js';
import { ErrorCode } from '../../src/errors.js';
import { expectDrainedExactly, waitForDrain } from '../helpers/drain.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

const consumerOpts = { batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 };

describe('a consumer with many coupons listed', () => {
  it('drains coupons created after it started, beside 1,000 idle ones, exactly', async () => {
    // 1,000 async coupons with empty streams (Redis only: nothing of theirs reaches MySQL).
    const idle = Array.from({ length: 1000 }, (_, i) => 900_000_000 + i);
    for (let i = 0; i < idle.length; i += 100) {
      await Promise.all(idle.slice(i, i + 100).map((id) => publishCouponRules(t.deps, {
        id, issueMode: IssueMode.ASYNC, totalQuantity: 10, dateIssueStart: new Date(0), dateIssueEnd: new Date(Date.now() + 3_600_000),
      })));
    }
    // Listed without a stream (as after Redis lost the coupon's keys): one stream without its group must not fail the read of all.
    await t.deps.redis.sadd(t.deps.keys.activeCoupons, '899999999');
    const reserver = createReserver(t.deps);
    const consumer = new PersistConsumer(t.deps, { ...consumerOpts, name: 'many' });
    const running = consumer.run();
    await new Promise((r) => setTimeout(r, 1500)); // the consumer is waiting on the idle streams by now
    // Created after the consumer started: listed when the first reservation binds them to the async path.
    const fresh = [await insertTestCoupon(t.deps, { total: 301 }), await insertTestCoupon(t.deps, { total: 300 })];
    try {
      for (const couponId of fresh) {
        await Promise.all(Array.from({ length: 300 }, (_, i) => reserver.reserve(couponId, i + 1)));
      }
      for (const couponId of fresh) await waitForDrain(t.deps, couponId);
      // One entry after a quiet while: the wait on all 1,002 listed streams wakes for it.
      await new Promise((r) => setTimeout(r, 1200));
      await reserver.reserve(fresh[0]!, 301);
      await waitForDrain(t.deps, fresh[0]!);
    } finally {
      consumer.stop();
      await running;
      await reserver.close();
    }
    await expectDrainedExactly(t.deps, fresh[0]!, 301);
    await expectDrainedExactly(t.deps, fresh[1]!, 300);
    expect(consumer.stats).toMatchObject({ persisted: 601, duplicatesSkipped: 0, deadLettered: 0 });
  });

  it('drains exactly through the per-stream reads it uses on Redis Cluster (here forced on one node)', async () => {
    // Without auto-pipelining: ioredis would pipeline this client by cluster slots, which a single node has not.
    const redis = (t.deps.redis as RedisNode).duplicate({ enableAutoPipelining: false });
    Object.defineProperty(redis, 'isCluster', { value: true });
    const reserver = createReserver(t.deps);
    const consumer = new PersistConsumer({ ...t.deps, redis }, { ...consumerOpts, name: 'per-stream' });
    const running = consumer.run();
    const coupons = [await insertTestCoupon(t.deps, { total: 200 }), await insertTestCoupon(t.deps, { total: 200 })];
    try {
      for (const couponId of coupons) await Promise.all(Array.from({ length: 200 }, (_, i) => reserver.reserve(couponId, i + 1)));
      for (const couponId of coupons) await waitForDrain(t.deps, couponId);
    } finally {
      consumer.stop();
      await running;
      await reserver.close();
      await redis.quit();
    }
    for (const couponId of coupons) await expectDrainedExactly(t.deps, couponId, 200);
    expect(consumer.stats).toMatchObject({ persisted: 400, duplicatesSkipped: 0, deadLettered: 0 });
  });
});

describe('the sold-out winners cache, bounded over all coupons', () => {
  it('holds at most the budget\'s winners and answers every coupon exactly, cached or not', async () => {
    // Five coupons of 40 sold out, with room for the winners of two: the others are evicted in turn.
    const reserver = createReserver(t.deps, { soldOutWinners: 100 });
    const coupons: number[] = [];
    for (let c = 0; c < 5; c++) {
      const couponId = await insertTestCoupon(t.deps, { total: 40 });
      await Promise.all(Array.from({ length: 40 }, (_, i) => reserver.reserve(couponId, c * 1000 + i + 1)));
      coupons.push(couponId);
    }
    const codeOf = async (couponId: number, userId: number) => (await reserver.decide(couponId, userId))?.code;
    for (let round = 0; round < 4; round++) {
      for (const [c, couponId] of coupons.entries()) {
        const winners = await Promise.all(Array.from({ length: 40 }, (_, i) => codeOf(couponId, c * 1000 + i + 1)));
        const others = await Promise.all(Array.from({ length: 40 }, (_, i) => codeOf(couponId, c * 1000 + 500 + i)));
        expect(winners.filter((code) => code === ErrorCode.DUPLICATED_COUPON_ISSUE)).toHaveLength(40);
        expect(others.filter((code) => code === ErrorCode.INVALID_COUPON_ISSUE_QUANTITY)).toHaveLength(40);
        // Another coupon's winner is only refused as sold out here.
        expect(await codeOf(couponId, ((c + 1) % 5) * 1000 + 1)).toBe(ErrorCode.INVALID_COUPON_ISSUE_QUANTITY);
      }
      await new Promise((r) => setTimeout(r, 50)); // let the snapshots land
    }
    // Answered from memory: two refusals are one shared object (the script's answers are new each time).
    const cached = [];
    for (const couponId of coupons) {
      if ((await reserver.decide(couponId, 999_999)) === (await reserver.decide(couponId, 999_998))) cached.push(couponId);
    }
    expect(cached.length).toBeGreaterThan(0);
    expect(cached.length).toBeLessThanOrEqual(2);
    for (const couponId of coupons) expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(40);
    await reserver.close();
  });
});
