import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodesOf } from '../../src/adapters/redis/client.js';
import { readRedisPersistence } from '../../src/adapters/redis/persistence.js';
import { fireIssues, floodBodies, type IssueRequestBody } from '../../src/harness/flood.js';
import { startRedisCluster, type RedisCluster } from '../../src/harness/redis-cluster.js';
import { spawnCli, startHttpProcess, type HttpProcess, type ServiceProcess } from '../../src/harness/service-processes.js';
import { killMidDrain, reservedCoupon } from '../helpers/consumer-kill.js';
import { expectDrainedExactly, waitForDrain } from '../helpers/drain.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

/** Every scenario of the async path on a real Redis Cluster: 3 masters, 3 replicas, this file's own. */
let cluster: RedisCluster;
let t: TestEnv;
let api: HttpProcess;
beforeAll(async () => {
  cluster = await startRedisCluster();
  t = await createTestEnv({ REDIS_CLUSTER_NODES: cluster.seeds });
  // Two API workers on one port: each process has its own cluster client, and every answer must still add up.
  api = await startHttpProcess({ ...t.env, API_WORKERS: '2' }, { name: 'cluster-api' });
}, 120_000);
afterAll(async () => {
  await api?.stop();
  await t?.destroy();
  await cluster?.stop();
});

/** New coupons, one served by each of the three masters (ids are tried in order until each master has one). */
async function couponOnEachMaster(totals: readonly [number, number, number]): Promise<number[]> {
  const byMaster = new Map<number, number>();
  while (byMaster.size < 3) {
    const couponId = await insertTestCoupon(t.deps, { total: totals[byMaster.size]! });
    const master = await cluster.masterOf(t.deps.keys.rules(couponId));
    if (!byMaster.has(master.port)) byMaster.set(master.port, couponId);
  }
  return [...byMaster.values()];
}

/** The floods of several coupons, taken in turn, so they arrive at the same time. */
function interleave(floods: readonly IssueRequestBody[][]): IssueRequestBody[] {
  const longest = Math.max(...floods.map((f) => f.length));
  return Array.from({ length: longest }, (_, i) => floods.flatMap((f) => (i < f.length ? [f[i]!] : []))).flat();
}

async function drainWith(procs: readonly ServiceProcess[], couponIds: readonly number[]): Promise<void> {
  try {
    for (const id of couponIds) await waitForDrain(t.deps, id, 60_000);
  } finally {
    for (const p of procs) expect(await p.stop('SIGTERM')).toBe(0);
  }
}

describe('the async path on a Redis Cluster', () => {
  it('judges persistence by the weakest master: one without an append-only file is what a 202 survives', async () => {
    const health = await (await fetch(`${api.url}/health`)).json();
    expect(health).toMatchObject({ status: 'UP', redis: 'UP', redisPersistence: { appendonly: false, survives: 'nothing' } });
    const masters = await nodesOf(t.deps.redis);
    expect(masters).toHaveLength(3);
    const ports = masters.map((m) => m.options.port!);
    const setAof = (port: number, on: boolean) => masters.find((m) => m.options.port === port)!.config('SET', 'appendonly', on ? 'yes' : 'no');
    try {
      for (const port of ports.slice(1)) await setAof(port, true);
      const weak = await readRedisPersistence(t.deps.redis);
      expect(weak.survives).toBe('nothing');
      expect(weak.summary).toContain(`:${ports[0]}`);
      await setAof(ports[0]!, true);
      expect((await readRedisPersistence(t.deps.redis)).survives).toBe('process-crash');
    } finally {
      for (const port of ports) await setAof(port, false);
    }
  });

  it('a flood of 10,000 requests on a coupon of 1,000, two more coupons on the other masters at once, two consumers: exact', async () => {
    const [big, b, c] = await couponOnEachMaster([1000, 200, 200]) as [number, number, number];
    const bodies = interleave([floodBodies(big, 5000, 5000), floodBodies(b, 1000, 1000), floodBodies(c, 1000, 1000)]);
    const consumers = [spawnCli(['consumer'], { ...t.env, CONSUMER_BATCH_SIZE: '200' }), spawnCli(['consumer'], { ...t.env, CONSUMER_BATCH_SIZE: '200' })];
    const load = await fireIssues([api.url], '/v1/issue-async', bodies, 128);
    expect(load.outcomes).toMatchObject({ '202': 1400 });
    const allowed = ['202', '409 INVALID_COUPON_ISSUE_QUANTITY', '409 DUPLICATED_COUPON_ISSUE'];
    expect(Object.keys(load.outcomes).filter((k) => !allowed.includes(k))).toEqual([]);
    await drainWith(consumers, [big, b, c]);
    await expectDrainedExactly(t.deps, big, 1000);
    await expectDrainedExactly(t.deps, b, 200);
    await expectDrainedExactly(t.deps, c, 200);
  });

  it('a consumer killed with SIGKILL mid-drain, replaced by another that reclaims its entries: exact', async () => {
    const couponId = await reservedCoupon(t, 5000);
    await killMidDrain(t, couponId, 5000, { CONSUMER_NAME: 'doomed' });
    await drainWith([spawnCli(['consumer'], { ...t.env, CONSUMER_NAME: 'survivor', CONSUMER_CLAIM_IDLE_MS: '1000' })], [couponId]);
    await expectDrainedExactly(t.deps, couponId, 5000);
  });

  it('a coupon\'s keys lost after the drain: reconcile reports it, --repair rebuilds it; a rebuilt coupon refuses winners and newcomers', async () => {
    const [lost, rebuilt] = await couponOnEachMaster([50, 50, 1]) as [number, number];
    const bodies = interleave([floodBodies(lost, 100, 0), floodBodies(rebuilt, 100, 0)]);
    const consumer = spawnCli(['consumer'], t.env);
    expect((await fireIssues([api.url], '/v1/issue-async', bodies, 32)).outcomes['202']).toBe(100);
    await drainWith([consumer], [lost, rebuilt]);
    const dropKeys = (id: number) => t.deps.redis.del(t.deps.keys.rules(id), t.deps.keys.users(id), t.deps.keys.stream(id));
    await dropKeys(lost);
    await dropKeys(rebuilt);

    const report = spawnCli(['reconcile', String(lost), '--json'], t.env);
    expect(await report.exited).toBe(1);
    expect(JSON.parse(report.output())).toMatchObject({ inAgreement: false, rulesInRedis: 'missing', redisCount: 0, mysqlRows: 50 });
    const repair = spawnCli(['reconcile', String(lost), '--repair'], t.env);
    expect(await repair.exited).toBe(0);
    await expectDrainedExactly(t.deps, lost, 50);

    // The API's rules cache (1 s) forgets the coupon, then finds it missing in Redis and rebuilds it from MySQL.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await fireIssues([api.url], '/v1/issue-async', [...floodBodies(rebuilt, 100, 0), ...floodBodies(rebuilt, 20, 0, 1000)], 16);
    expect(again.outcomes).toEqual({ '409 DUPLICATED_COUPON_ISSUE': 50, '409 INVALID_COUPON_ISSUE_QUANTITY': 70 });
    await expectDrainedExactly(t.deps, rebuilt, 50);
  });
});
