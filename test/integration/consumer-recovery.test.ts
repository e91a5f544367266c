import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PersistConsumer } from '../../src/async-issue/consumer/persist-consumer.js';
import { countIssues, findCouponById } from '../../src/domain/coupon.repository.js';
import { createDeps } from '../../src/deps.js';
import { IssueMode } from '../../src/domain/coupon.js';
import { publishCouponRules } from '../../src/async-issue/coupon-mirror.js';
import { createReserver } from '../../src/async-issue/reserver.js';
import { drainWithConsumer, expectDrainedExactly, waitForDrain, waitUntil } from '../helpers/drain.js';
import { spawnCli, type ServiceProcess } from '../../src/harness/service-processes.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { killMidDrain as killConsumerMidDrain, reservedCoupon as reservedCouponOf, rowsOf as rowsOfCoupon } from '../helpers/consumer-kill.js';
import { createTestEnv, failuresOf, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

const TOTAL = 20_000;

const reservedCoupon = () => reservedCouponOf(t, TOTAL);

const rowsOf = (couponId: number) => rowsOfCoupon(t, couponId);

const killMidDrain = (couponId: number, env: Record<string, string>) => killConsumerMidDrain(t, couponId, TOTAL, env);

async function drainWith(proc: ServiceProcess, couponId: number): Promise<void> {
  try {
    await waitForDrain(t.deps, couponId, 60_000);
  } finally {
    expect(await proc.stop('SIGTERM')).toBe(0);
  }
}

describe('consumer killed with SIGKILL in the middle of the drain', () => {
  it('restarted under the same name, it takes back its own pending entries: exact result', async () => {
    const couponId = await reservedCoupon();
    await killMidDrain(couponId, { CONSUMER_NAME: 'worker-1', CONSUMER_CLAIM_IDLE_MS: '600000' });
    await drainWith(spawnCli(['consumer'], { ...t.env, CONSUMER_NAME: 'worker-1', CONSUMER_CLAIM_IDLE_MS: '600000' }), couponId);
    await expectDrainedExactly(t.deps, couponId, TOTAL);
  });

  it('replaced by a second consumer, that one reclaims the dead one\'s entries (XAUTOCLAIM): exact result', async () => {
    const couponId = await reservedCoupon();
    await killMidDrain(couponId, { CONSUMER_NAME: 'doomed' });
    await drainWith(spawnCli(['consumer'], { ...t.env, CONSUMER_NAME: 'survivor', CONSUMER_CLAIM_IDLE_MS: '1000' }), couponId);
    await expectDrainedExactly(t.deps, couponId, TOTAL);
  });

  it('two consumers share the drain without doubling anything', async () => {
    const couponId = await reservedCoupon();
    const env = { ...t.env, CONSUMER_BATCH_SIZE: '200' };
    const a = spawnCli(['consumer'], env);
    const b = spawnCli(['consumer'], env);
    await waitForDrain(t.deps, couponId, 60_000);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
    await expectDrainedExactly(t.deps, couponId, TOTAL);
  });
});

describe('MySQL out of reach during the drain', () => {
  it('keeps the batch, waits, and after MySQL returns has lost and doubled nothing', async () => {
    const couponId = await reservedCoupon();
    const proxy = await new TcpProxy('127.0.0.1', 3306).start();
    const mysqlUrl = new URL(t.env.MYSQL_URL!);
    mysqlUrl.port = String(proxy.port);
    const deps = createDeps(loadConfig({ ...t.env, MYSQL_URL: mysqlUrl.toString() }), 'outage-consumer');
    const consumer = new PersistConsumer(deps, { name: 'outage', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 });
    const running = consumer.run();
    try {
      await waitUntil('first rows persisted', async () => (await rowsOf(couponId)) >= 1000);
      await proxy.cut();
      const atCut = await rowsOf(couponId);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await rowsOf(couponId)).toBe(atCut);
      expect(atCut).toBeLessThan(TOTAL);
      await proxy.restore();
      await waitForDrain(t.deps, couponId, 60_000);
    } finally {
      consumer.stop();
      await running;
      await deps.close();
      await proxy.cut();
    }
    await expectDrainedExactly(t.deps, couponId, TOTAL);
  });
});

describe('entries that can never be persisted', () => {
  it('records a malformed entry as a failed issue in MySQL and persists the rest', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 10 });
    const reserver = createReserver(t.deps);
    await reserver.reserve(couponId, 1);
    await t.deps.redis.xadd(t.deps.keys.stream(couponId), '*', 'u', 'not-a-user', 't', 'x');
    await reserver.reserve(couponId, 2);
    const consumer = await drainWithConsumer(t.deps, couponId, { name: 'poison', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 });
    expect((await countIssues(t.deps.db, couponId)).rows).toBe(2);
    const failed = await failuresOf(t.deps, couponId);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ userId: null, reservedAt: null, kind: 'MALFORMED_ENTRY', state: 'FAILED', entryFields: ['u', 'not-a-user', 't', 'x'] });
    expect(failed[0]!.reason).toContain('malformed');
    expect(failed[0]!.unitRelease).toContain('no unit');
    expect(consumer.stats.deadLettered).toBe(1);
  });

  it('refuses, through MySQL\'s CHECK, entries beyond the total that bypassed the script; records only those as failed', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 2 });
    const coupon = { id: couponId, issueMode: IssueMode.ASYNC, totalQuantity: 2, dateIssueStart: new Date(0), dateIssueEnd: new Date(Date.now() + 60_000) };
    await publishCouponRules(t.deps, coupon);
    // Three entries for a coupon of two, written around the script (as a bug would).
    for (const u of [1, 2, 3]) await t.deps.redis.xadd(t.deps.keys.stream(couponId), '*', 'u', String(u), 't', String(Date.now()));
    await drainWithConsumer(t.deps, couponId, { name: 'check', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 2, maxDeliveries: 5 });
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 2, distinctUsers: 2, issuedQuantity: 2, totalQuantity: 2 });
    const failed = await failuresOf(t.deps, couponId);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'REFUSED_BY_DATABASE', attempts: 2, state: 'FAILED' });
    // The script never reserved it, so there was no unit in the users hash to release.
    expect(failed[0]!.unitRelease).toContain('not held');
  });
});

describe('MySQL refusing for reasons of its own (not the data)', () => {
  it('keeps retrying without dead-lettering, and persists everything once MySQL is fixed', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 20 });
    const reserver = createReserver(t.deps);
    await Promise.all(Array.from({ length: 20 }, (_, i) => reserver.reserve(couponId, i + 1)));
    await t.deps.db.query('RENAME TABLE coupon_issues TO coupon_issues_away');
    const consumer = new PersistConsumer(t.deps, { name: 'no-table', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 2, maxDeliveries: 5 });
    const running = consumer.run();
    try {
      await new Promise((r) => setTimeout(r, 1500)); // several retries' worth
      expect(await failuresOf(t.deps, couponId)).toEqual([]);
      expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(20);
    } finally {
      await t.deps.db.query('RENAME TABLE coupon_issues_away TO coupon_issues');
    }
    await waitForDrain(t.deps, couponId);
    consumer.stop();
    await running;
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 20, distinctUsers: 20, issuedQuantity: 20, totalQuantity: 20 });
    expect(await failuresOf(t.deps, couponId)).toEqual([]);
  });
});

describe('the polling list', () => {
  it('drops a coupon whose window closed over a minute ago once its stream is empty, and keeps open ones', async () => {
    const finished = await insertTestCoupon(t.deps, { total: 5, start: new Date(Date.now() - 3_600_000), end: new Date(Date.now() - 120_000) });
    const open = await insertTestCoupon(t.deps, { total: 5 });
    for (const id of [finished, open]) {
      await publishCouponRules(t.deps, { ...(await findCouponById(t.deps.db, id))!, issueMode: IssueMode.ASYNC });
    }
    const consumer = new PersistConsumer(t.deps, { name: 'prune', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5, pruneEveryMs: 10 });
    const running = consumer.run();
    await waitUntil('finished coupon pruned', async () => !(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(finished))));
    consumer.stop();
    await running;
    expect(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(open))).toBe(1);
  });

  it('lists a coupon only once the async path binds it, and drops a listed coupon the sync path holds', async () => {
    const unbound = await insertTestCoupon(t.deps, { total: 5 });
    await publishCouponRules(t.deps, (await findCouponById(t.deps.db, unbound))!);
    expect(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(unbound))).toBe(0);
    await createReserver(t.deps).reserve(unbound, 1);
    expect(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(unbound))).toBe(1);
    // Listed by an older version at its creation, then bound to the sync path.
    const sync = await insertTestCoupon(t.deps, { total: 5 });
    await publishCouponRules(t.deps, { ...(await findCouponById(t.deps.db, sync))!, issueMode: IssueMode.SYNC });
    await t.deps.redis.sadd(t.deps.keys.activeCoupons, String(sync));
    const consumer = new PersistConsumer(t.deps, { name: 'prune-sync', batchSize: 100, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5, pruneEveryMs: 10 });
    const running = consumer.run();
    await waitUntil('sync coupon pruned', async () => !(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(sync))));
    await waitForDrain(t.deps, unbound);
    consumer.stop();
    await running;
    expect(await t.deps.redis.sismember(t.deps.keys.activeCoupons, String(unbound))).toBe(1);
    expect((await countIssues(t.deps.db, unbound)).rows).toBe(1);
  });
});
