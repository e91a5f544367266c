import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { loadConfig } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { waitUntil } from '../helpers/drain.js';
import { soldOutWithCachedWinners } from '../helpers/sold-out.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let mysqlProxy: TcpProxy;
let redisProxy: TcpProxy;
let deps: Deps;
let app: FastifyInstance;

beforeAll(async () => {
  t = await createTestEnv();
  mysqlProxy = await new TcpProxy('127.0.0.1', 3306).start();
  redisProxy = await new TcpProxy('127.0.0.1', 6379).start();
  const mysqlUrl = new URL(t.env.MYSQL_URL!);
  mysqlUrl.port = String(mysqlProxy.port);
  const config = loadConfig({ ...t.env, MYSQL_URL: mysqlUrl.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`, ISSUE_STRATEGY: 'redis-lock' });
  deps = createDeps(config, 'outage-test');
  app = await buildApp(deps);
});
afterAll(async () => {
  await app?.close();
  await deps?.close();
  await mysqlProxy?.cut();
  await redisProxy?.cut();
  await t?.destroy();
});

const issue = (userId: number, couponId: number) =>
  app.inject({ method: 'POST', url: '/v1/issue', payload: { userId, couponId } });
const issueAsync = (userId: number, couponId: number) =>
  app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId, couponId } });

describe.each([
  ['MySQL', () => mysqlProxy],
  ['Redis', () => redisProxy],
])('%s out of reach', (_, proxy) => {
  it('answers 503 UNAVAILABLE (health too), writes nothing, then serves again once it returns', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 10 });
    expect((await issue(1, couponId)).statusCode).toBe(200);

    await proxy().cut();
    const down = await issue(2, couponId);
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ isSuccess: false, code: 'UNAVAILABLE' });
    expect((await app.inject({ url: '/health' })).statusCode).toBe(503);

    await proxy().restore();
    await waitUntil('health back to 200', async () => (await app.inject({ url: '/health' })).statusCode === 200, 10_000);
    await waitUntil('issuing again', async () => (await issue(3, couponId)).statusCode === 200, 10_000);
    expect((await issue(2, couponId)).statusCode).toBe(200);
    // The refused request left no trace: exactly users 1, 2 and 3.
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 3, distinctUsers: 3, issuedQuantity: 3, totalQuantity: 10 });
  });
});

describe('the async path', () => {
  it('answers 503 while Redis is out of reach, reserving nothing, and 202 once it returns', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 10 });
    expect((await issueAsync(1, couponId)).statusCode).toBe(202);
    await redisProxy.cut();
    const down = await issueAsync(2, couponId);
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ isSuccess: false, code: 'UNAVAILABLE' });
    await redisProxy.restore();
    await waitUntil('reserving again', async () => (await issueAsync(2, couponId)).statusCode === 202, 10_000);
    expect((await t.deps.redis.hkeys(t.deps.keys.users(couponId))).sort()).toEqual(['1', '2']);
  });

  it('answers a sold-out coupon from the winners it cached, even with Redis out of reach', async () => {
    const { couponId, reserver } = await soldOutWithCachedWinners(t.deps, deps);
    await redisProxy.cut();
    try {
      expect(await reserver.decide(couponId, 5)).toMatchObject({ code: 'INVALID_COUPON_ISSUE_QUANTITY' });
      expect(await reserver.decide(couponId, 1)).toMatchObject({ code: 'DUPLICATED_COUPON_ISSUE' });
    } finally {
      await redisProxy.restore();
    }
  });

  it('keeps accepting while MySQL is out of reach: the hot path never touches it', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 10 });
    expect((await issueAsync(1, couponId)).statusCode).toBe(202); // loads the coupon into Redis
    await mysqlProxy.cut();
    try {
      expect((await issueAsync(2, couponId)).statusCode).toBe(202);
      expect((await issueAsync(2, couponId)).json().code).toBe('DUPLICATED_COUPON_ISSUE');
    } finally {
      await mysqlProxy.restore();
    }
    expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(2);
  });
});
