import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { loadConfig } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { drainWithConsumer } from '../helpers/drain.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { startRedisServer, type RedisServer } from '../../src/harness/redis-server.js';
import { spawnCli } from '../../src/harness/service-processes.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let redis: RedisServer;
let deps: Deps;
let env: Record<string, string>;

beforeAll(async () => {
  // A redis-server of this file's own, so it may FLUSHALL without touching other tests' keys.
  redis = await startRedisServer(['--save', '', '--appendonly', 'no']);
  t = await createTestEnv();
  env = { ...t.env, REDIS_URL: redis.url };
  deps = createDeps(loadConfig(env), 'redis-loss');
});
afterAll(async () => {
  await deps?.close();
  await t?.destroy();
  await redis?.stop();
});

const TOTAL = 50;

/** Floods a coupon through the async path until sold out and drains it into MySQL. */
async function soldOutAndPersisted(): Promise<number> {
  const couponId = await insertTestCoupon(t.deps, { total: TOTAL });
  const app = await buildApp(deps);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const load = await fireIssues([url], '/v1/issue-async', floodBodies(couponId, 300, 100));
    expect(load.outcomes['202']).toBe(TOTAL);
  } finally {
    await app.close();
  }
  await drainWithConsumer(deps, couponId, { name: 'loss', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 });
  expect((await countIssues(t.deps.db, couponId)).rows).toBe(TOTAL);
  return couponId;
}

async function winnersOf(couponId: number): Promise<number[]> {
  const [rows] = (await t.deps.db.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ? ORDER BY user_id', [couponId])) as unknown as [{ user_id: number }[]];
  return rows.map((r) => Number(r.user_id));
}

describe('Redis emptied (FLUSHALL) after the event sold out', () => {
  it('a fresh API rebuilds from MySQL on first use: new users are refused as sold out, winners as duplicates', async () => {
    const couponId = await soldOutAndPersisted();
    const winners = await winnersOf(couponId);
    await deps.redis.flushall();

    const app: FastifyInstance = await buildApp(deps); // a restarted API: nothing cached
    try {
      const post = (userId: number) => app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId, couponId } });
      const stranger = await post(999_999);
      expect(stranger.statusCode).toBe(409);
      expect(stranger.json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
      for (const w of winners.slice(0, 5)) expect((await post(w)).json().code).toBe('DUPLICATED_COUPON_ISSUE');
      const status = await app.inject({ url: `/v1/coupons/${couponId}/issues/${winners[0]}` });
      expect(status.json()).toMatchObject({ status: 'ISSUED' });
    } finally {
      await app.close();
    }
    expect(await deps.redis.hlen(deps.keys.users(couponId))).toBe(TOTAL);
    expect(await reconcileCoupon(deps, couponId)).toMatchObject({ inAgreement: true, redisCount: TOTAL, mysqlRows: TOTAL });
    expect((await countIssues(t.deps.db, couponId)).rows).toBe(TOTAL);
  });

  it('coupon reconcile reports the loss (exit 1) and --repair rebuilds Redis from MySQL (exit 0)', async () => {
    const couponId = await soldOutAndPersisted();
    await deps.redis.flushall();

    const report = spawnCli(['reconcile', String(couponId), '--json'], env);
    expect(await report.exited).toBe(1);
    const before = JSON.parse(report.output());
    expect(before).toMatchObject({ inAgreement: false, rulesInRedis: 'missing', redisCount: 0, mysqlRows: TOTAL });
    expect(before.persistedNotReserved).toHaveLength(TOTAL);

    const repair = spawnCli(['reconcile', String(couponId), '--repair'], env);
    expect(await repair.exited).toBe(0);
    expect(repair.output()).toContain('repaired');

    const after = spawnCli(['reconcile', String(couponId)], env);
    expect(await after.exited).toBe(0);
    expect(after.output()).toContain('Redis and MySQL agree');
    const reserved = await deps.redis.hkeys(deps.keys.users(couponId));
    expect(reserved.map(Number).sort((a, b) => a - b)).toEqual(await winnersOf(couponId));
  });
});

describe('Redis emptied before the consumer wrote anything', () => {
  it('coupon reconcile counts the accepted reservations lost (from the count the API flushed to MySQL); --repair says so once', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: TOTAL });
    const app = await buildApp(deps);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fireIssues([url], '/v1/issue-async', floodBodies(couponId, 300, 100))).outcomes['202']).toBe(TOTAL);
    } finally {
      await app.close(); // flushes its count of reservations held
    }
    await deps.redis.flushall();

    const report = spawnCli(['reconcile', String(couponId), '--json'], env);
    expect(await report.exited).toBe(1);
    expect(JSON.parse(report.output())).toMatchObject({
      inAgreement: false, mysqlRows: 0,
      loss: { reservedSeen: TOTAL, heldNow: 0, mysqlRows: 0, reservationsLost: TOTAL, streamEntriesLost: TOTAL },
    });
    const repair = spawnCli(['reconcile', String(couponId), '--repair'], env);
    expect(await repair.exited).toBe(0);
    expect(repair.output()).toContain(`accepted reservations lost by redis: ${TOTAL}, stream entries lost: ${TOTAL}`);
    // Told once: the count starts again from what Redis holds after the repair.
    const after = spawnCli(['reconcile', String(couponId), '--json'], env);
    expect(await after.exited).toBe(0);
    expect(JSON.parse(after.output())).toMatchObject({ inAgreement: true, loss: { reservationsLost: 0, streamEntriesLost: 0 } });
  });
});

describe('coupon reconcile on a coupon of the sync path', () => {
  it('compares nothing with Redis, and --repair recounts a drifted issued_quantity', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 5 });
    for (const u of [1, 2, 3]) {
      await t.deps.db.query('INSERT INTO coupon_issues (coupon_id, user_id, date_issued, created_at, updated_at) VALUES (?, ?, NOW(3), NOW(3), NOW(3))', [couponId, u]);
    }
    // Bound to the sync path with a count that lost an update (what the `none` strategy does).
    await t.deps.db.query("UPDATE coupons SET issue_mode = 'SYNC', issued_quantity = 2 WHERE id = ?", [couponId]);

    const report = spawnCli(['reconcile', String(couponId), '--json'], env);
    expect(await report.exited).toBe(1);
    expect(JSON.parse(report.output())).toMatchObject({ issueMode: 'SYNC', inAgreement: false, persistedNotReserved: [], mysqlRows: 3, mysqlIssuedQuantity: 2 });

    const repair = spawnCli(['reconcile', String(couponId), '--repair'], env);
    expect(await repair.exited).toBe(0);
    expect(await countIssues(t.deps.db, couponId)).toMatchObject({ rows: 3, issuedQuantity: 3 });
    expect(await deps.redis.hlen(deps.keys.users(couponId))).toBe(0);
  });
});
