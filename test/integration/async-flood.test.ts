import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { drainWithConsumer } from '../helpers/drain.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let app: FastifyInstance;
let url: string;
beforeAll(async () => {
  t = await createTestEnv();
  app = await buildApp(t.deps);
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});


describe('POST /v1/issue-async under a flood', () => {
  it('accepts exactly 1,000 of 10,000 requests from 5,000 users; after the drain MySQL and Redis agree exactly', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1000 });
    const load = await fireIssues([url], '/v1/issue-async', floodBodies(couponId, 5000, 5000), 256);
    expect(load.outcomes['202']).toBe(1000);
    const allowed = ['202', '409 INVALID_COUPON_ISSUE_QUANTITY', '409 DUPLICATED_COUPON_ISSUE'];
    expect(Object.keys(load.outcomes).filter((k) => !allowed.includes(k))).toEqual([]);
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(1000);

    await drainWithConsumer(t.deps, couponId, { name: 'flood' });

    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 1000, distinctUsers: 1000, issuedQuantity: 1000, totalQuantity: 1000 });
    const r = await reconcileCoupon(t.deps, couponId);
    expect(r).toMatchObject({ inAgreement: true, reservedNotPersisted: [], persistedNotReserved: [], redisCount: 1000, mysqlRows: 1000 });
  });
});

describe('POST /v1/issue-async contract', () => {
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/issue-async', payload: payload as object });

  it('answers 202, then PENDING until persisted, then ISSUED', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 5 });
    const res = await post({ userId: 9, couponId });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ isSuccess: true, comment: null });
    const pending = await app.inject({ url: `/v1/coupons/${couponId}/issues/9` });
    expect(pending.json()).toMatchObject({ couponId, userId: 9, status: 'PENDING' });

    await drainWithConsumer(t.deps, couponId, { name: 'status' });
    const issued = await app.inject({ url: `/v1/coupons/${couponId}/issues/9` });
    expect(issued.json()).toMatchObject({ couponId, userId: 9, status: 'ISSUED', dateIssued: pending.json().dateIssued });
  });

  it('uses the same error codes as /v1/issue', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 1 });
    expect((await post({ userId: 1, couponId })).statusCode).toBe(202);
    expect((await post({ userId: 1, couponId })).json()).toMatchObject({ code: 'DUPLICATED_COUPON_ISSUE' });
    expect((await post({ userId: 2, couponId })).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_QUANTITY' });
    const unknown = await post({ userId: 1, couponId: 987654321 });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('COUPON_NOT_EXIST');
    const closed = await insertTestCoupon(t.deps, { total: 1, start: new Date(Date.now() - 120_000), end: new Date(Date.now() - 60_000) });
    expect((await post({ userId: 1, couponId: closed })).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_DATE' });
    for (const bad of [{ userId: '1', couponId }, { userId: 1 }, { userId: 1, couponId, x: 1 }, { userId: -1, couponId }]) {
      const res = await post(bad);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('INVALID_REQUEST');
    }
    const big = await app.inject({ method: 'POST', url: '/v1/issue-async', body: JSON.stringify({ userId: 1, couponId, pad: 'x'.repeat(20_000) }), headers: { 'content-type': 'application/json' } });
    expect(big.statusCode).toBe(413);
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(1);
  });
});
