import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { countOutcomes, fireIssues, floodBodies, floodWhile, type IssueRequestBody, type TimedAnswer } from '../../src/harness/flood.js';
import { startRedisCluster, type RedisCluster } from '../../src/harness/redis-cluster.js';
import { spawnCli, startHttpProcess, type HttpProcess } from '../../src/harness/service-processes.js';
import { waitForDrain, waitUntil } from '../helpers/drain.js';
import { createTestEnv, failuresOf, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let cluster: RedisCluster;
let t: TestEnv;
let api: HttpProcess;
beforeAll(async () => {
  cluster = await startRedisCluster();
  t = await createTestEnv({ REDIS_CLUSTER_NODES: cluster.seeds, CONSUMER_CLAIM_IDLE_MS: '1000' });
  // warn: the API's report of the reservations the failover lost is read from its output.
  api = await startHttpProcess({ ...t.env, LOG_LEVEL: 'warn' }, { name: 'failover-api' });
}, 120_000);
afterAll(async () => {
  await api?.stop();
  await t?.destroy();
  await cluster?.stop();
});

const TOTAL = 1000;

const rowsOf = async (couponId: number) => (await countIssues(t.deps.db, couponId)).rows;

/** What the API logged when it found the promoted replica short of reservations. */
function reportedLoss(output: string): number[] {
  return output.split('\n').flatMap((line) => {
    const m = /"reservationsLost":(\d+)/.exec(line);
    return m ? [Number(m[1])] : [];
  });
}

describe('REDIS_WAIT_REPLICAS=1: the 202 waits for a replica of the master that took the reservation', () => {
  it('a coupon whose replica lags gets its 202s after the timeout, told; a coupon on another master is unaffected', async () => {
    const waiting = await startHttpProcess({ ...t.env, LOG_LEVEL: 'warn', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' }, { name: 'wait-api' });
    const lagging = await insertTestCoupon(t.deps, { total: 10 });
    const lagMaster = await cluster.masterOf(t.deps.keys.rules(lagging));
    let healthy = await insertTestCoupon(t.deps, { total: 10 });
    while ((await cluster.masterOf(t.deps.keys.rules(healthy))).port === lagMaster.port) healthy = await insertTestCoupon(t.deps, { total: 10 });
    const toldAbout = () => [...waiting.output().matchAll(/"couponId":(\d+),"reservations":(\d+)/g)].map((m) => Number(m[1]));
    const { resume } = await cluster.freezeReplica(lagMaster);
    try {
      // One at a time: each WAIT sees only its own reservation.
      for (const userId of [1, 2, 3]) expect((await fireIssues([waiting.url], '/v1/issue-async', [{ couponId: healthy, userId }], 1)).outcomes).toEqual({ 202: 1 });
      for (const userId of [1, 2, 3]) expect((await fireIssues([waiting.url], '/v1/issue-async', [{ couponId: lagging, userId }], 1)).outcomes).toEqual({ 202: 1 });
      await waitUntil('the lag told', () => Promise.resolve(toldAbout().length > 0));
    } finally {
      resume();
      await waiting.stop();
      await cluster.waitUntilOk();
    }
    expect(toldAbout()).toEqual([lagging]);
  });
});

describe('a master killed (kill -9) during a flood, its replica promoted', () => {
  it('never over-issues; the reservations it lost are told and their units sold again: the coupon ends at exactly its total', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: TOTAL });
    const master = await cluster.masterOf(t.deps.keys.rules(couponId));
    const consumer = spawnCli(['consumer'], { ...t.env, CONSUMER_NAME: 'failover' });
    const accepted = new Set<number>();
    let flooding = false;
    let flood: Promise<TimedAnswer[]> | undefined;
    const note = (b: IssueRequestBody, outcome: string) => { if (outcome === '202') accepted.add(b.userId); };
    try {
      // 300 reserved, persisted and replicated.
      await fireIssues([api.url], '/v1/issue-async', floodBodies(couponId, 300, 0), 32, note);
      await waitForDrain(t.deps, couponId);
      // The replication link held open: 300 more persisted from the master the replica never sees.
      const { replica, resume } = await cluster.freezeReplica(master);
      await fireIssues([api.url], '/v1/issue-async', floodBodies(couponId, 300, 0, 301), 32, note);
      await waitUntil('600 persisted', async () => (await rowsOf(couponId)) === 600);
      // The consumer frozen too: the last 400 are accepted by the master alone, then it dies with them.
      consumer.pause();
      let nextUser = 601;
      flooding = true;
      flood = floodWhile([api.url], '/v1/issue-async', () => (flooding ? { couponId, userId: nextUser++ } : undefined), 8);
      await waitUntil('sold out on the master', async () => (await t.deps.redis.hlen(t.deps.keys.users(couponId))) === TOTAL);
      await master.kill9();
      resume();
      consumer.resume();
      await cluster.waitUntilOk();
      expect((await cluster.masterOf(t.deps.keys.rules(couponId))).port).toBe(replica.port);

      // More demand after the failover, until every unit is a row again.
      await waitUntil('the coupon full again in MySQL and Redis', async () => (await rowsOf(couponId)) === TOTAL
        && (await t.deps.redis.hlen(t.deps.keys.users(couponId))) === TOTAL, 60_000);
      flooding = false;
      for (const a of await flood) note(a.body, a.outcome);
      await waitForDrain(t.deps, couponId);
      const outcomes = countOutcomes(await flood);
      expect(Object.keys(outcomes).filter((k) => !['202', '409 INVALID_COUPON_ISSUE_QUANTITY', '503 UNAVAILABLE'].includes(k))).toEqual([]);
    } finally {
      flooding = false;
      await flood?.catch(() => []);
      await consumer.stop();
    }

    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: TOTAL, distinctUsers: TOTAL, issuedQuantity: TOTAL, totalQuantity: TOTAL });
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(TOTAL);
    expect(await reconcileCoupon(t.deps, couponId)).toMatchObject({ inAgreement: true, reservedNotPersisted: [], persistedNotReserved: [] });
    // Accepted (202), then lost with the master: neither a row nor a failed issue the user is told of.
    const [rows] = (await t.deps.db.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ?', [couponId])) as unknown as [{ user_id: number }[]];
    const persisted = new Set(rows.map((r) => Number(r.user_id)));
    const failed = new Set((await failuresOf(t.deps, couponId)).map((f) => f.userId));
    const lost = [...accepted].filter((u) => !persisted.has(u) && !failed.has(u));
    console.log(`failover: ${accepted.size} accepted, ${lost.length} lost to asynchronous replication, ${failed.size} failed; the API reported ${JSON.stringify(reportedLoss(api.output()))}`);
    expect(lost).toHaveLength(400);
    expect(reportedLoss(api.output())).toEqual([400]);
    expect(failed.size).toBe(0);
  });
});
