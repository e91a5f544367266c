import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { createCoupon } from '../../src/domain/coupon.service.js';
import { STRATEGY_NAMES } from '../../src/config.js';
import { createStrategy } from '../../src/sync-issue/index.js';
import { drainWithConsumer } from '../helpers/drain.js';
import { fireIssues } from '../../src/harness/flood.js';
import { createTestEnv, failuresOf, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

async function withApp<T>(strategy: (typeof STRATEGY_NAMES)[number], fn: (app: FastifyInstance, url: string) => Promise<T>): Promise<T> {
  const app = await buildApp(t.deps, { strategy: createStrategy(strategy, t.deps) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return await fn(app, url);
  } finally {
    await app.close();
  }
}

async function drain(couponId: number): Promise<void> {
  await drainWithConsumer(t.deps, couponId, { name: 'mode' });
}

const post = (app: FastifyInstance, path: string, userId: number, couponId: number) =>
  app.inject({ method: 'POST', url: path, payload: { userId, couponId } });

describe.each(STRATEGY_NAMES.filter((s) => s !== 'none'))('a coupon is issued through one path only (%s)', (strategy) => {
  /** Issues through `first`, then asks through the other path: it must refuse with 409 COUPON_ISSUE_MODE_MISMATCH. */
  const bindThenCross = async (couponId: number, first: '/v1/issue' | '/v1/issue-async', okStatus: number) => {
    const other = first === '/v1/issue' ? '/v1/issue-async' : '/v1/issue';
    await withApp(strategy, async (app) => {
      expect((await post(app, first, 1, couponId)).statusCode).toBe(okStatus);
      const res = await post(app, other, 2, couponId);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ isSuccess: false, code: 'COUPON_ISSUE_MODE_MISMATCH' });
      expect((await app.inject({ url: `/v1/coupons/${couponId}` })).json().issueMode).toBe(first === '/v1/issue' ? 'SYNC' : 'ASYNC');
    });
  };

  it('once issued synchronously, the async path refuses it with 409 COUPON_ISSUE_MODE_MISMATCH', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1 });
    await bindThenCross(couponId, '/v1/issue', 200);
    expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(0);
  });

  it('once reserved asynchronously, the sync path refuses it, and the 202 is persisted', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1 });
    await bindThenCross(couponId, '/v1/issue-async', 202);
    await drain(couponId);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 1, distinctUsers: 1, issuedQuantity: 1, totalQuantity: 1 });
    expect(await failuresOf(t.deps, couponId)).toEqual([]);
  });

  it.each([0, 1])('under a mixed flood of both paths, every 200 and every 202 is persisted and nothing is over-issued (round %i)', async () => {
    // Rules already in Redis (as after POST /v1/coupons), so neither path starts with a handicap.
    const { id: couponId } = await createCoupon(t.coupons, {
      title: 'mixed', totalQuantity: 50, discountAmount: 1, minAvailableAmount: 0,
      dateIssueStart: new Date(Date.now() - 1000), dateIssueEnd: new Date(Date.now() + 60_000),
    });
    const outcomes = await withApp(strategy, async (_, url) => {
      const bodies = Array.from({ length: 400 }, (_, i) => ({ couponId, userId: i + 1 }));
      const results = await Promise.all([
        fireIssues([url], '/v1/issue', bodies.filter((b) => b.userId % 2 === 0)),
        fireIssues([url], '/v1/issue-async', bodies.filter((b) => b.userId % 2 === 1)),
      ]);
      const sum: Record<string, number> = {};
      for (const r of results) for (const [k, n] of Object.entries(r.outcomes)) sum[k] = (sum[k] ?? 0) + n;
      return sum;
    });
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(400);
    await drain(couponId);
    const accepted = (outcomes['200'] ?? 0) + (outcomes['202'] ?? 0);
    expect(accepted).toBe(50);
    expect(Math.min(outcomes['200'] ?? 0, outcomes['202'] ?? 0)).toBe(0); // one path won the coupon
    expect(Object.keys(outcomes).every((k) => ['200', '202', '409 COUPON_ISSUE_MODE_MISMATCH', '409 INVALID_COUPON_ISSUE_QUANTITY'].includes(k)), JSON.stringify(outcomes)).toBe(true);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 50, distinctUsers: 50, issuedQuantity: 50, totalQuantity: 50 });
    expect(await failuresOf(t.deps, couponId)).toEqual([]);
  });
});
