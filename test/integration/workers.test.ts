import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSISTENCE_OFF, startRedisServer } from '../../src/harness/redis-server.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { countOutcomes, fireIssues, floodBodies, floodWhile, succeededOf } from '../../src/harness/flood.js';
import { answeringPids, childPids, freePort, spawnCli, startHttpProcess, type HttpProcess } from '../../src/harness/service-processes.js';
import type { LiveSnapshot } from '../../src/metrics/live-snapshots.js';
import { waitForDrain, waitUntil } from '../helpers/drain.js';
import { byCode, summed } from '../helpers/live.js';
import { parseSamples, valueOf, type Sample } from '../helpers/metrics.js';
import { openSse } from '../helpers/sse.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
// Load shedding off: a shed request is answered before any route counts it, and a worker starting on a
// busy machine can pass the event-loop delay bound; these tests count answers.
beforeAll(async () => { t = await createTestEnv({ OVERLOAD_EVENT_LOOP_DELAY_MS: '0' }); });
afterAll(async () => { await t?.destroy(); });

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const scrape = async (url: string) => parseSamples(await (await fetch(`${url}/metrics`)).text());
const sumOf = (samples: readonly Sample[], name: string, labels: Record<string, string>) => samples
  .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  .reduce((sum, s) => sum + s.value, 0);

/** Stops the service with SIGTERM: it exits 0 and none of its processes is left. */
async function stopAll(proc: HttpProcess): Promise<void> {
  const pids = [proc.child.pid!, ...childPids(proc.child.pid!)];
  expect(await proc.stop()).toBe(0);
  await waitUntil('every process gone', async () => pids.every((pid) => !isRunning(pid)), 10_000);
}

describe('API_WORKERS: several API processes on one port', () => {
  it('two workers, children of the primary, answer on one port; a sync flood is exact and counted once per answer; a worker killed is restarted', async () => {
    const proc = await startHttpProcess({ ...t.env, API_WORKERS: '2', ISSUE_STRATEGY: 'mysql-atomic', LOG_LEVEL: 'error' });
    try {
      const primary = proc.child.pid!;
      const workers = await answeringPids(proc.url, 2);
      expect(workers).not.toContain(primary);
      expect(childPids(primary).sort()).toEqual(workers);

      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      const flood = await fireIssues([proc.url], '/v1/issue', floodBodies(couponId, 1000, 200), 64);
      expect(flood.outcomes['200']).toBe(100);
      expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 100, distinctUsers: 100, issuedQuantity: 100, totalQuantity: 100 });
      // Any worker answers /metrics with the sum over both; the gauges read from MySQL are not doubled.
      for (let i = 0; i < 4; i++) {
        const samples = await scrape(proc.url);
        expect(sumOf(samples, 'coupon_issue_requests_total', { path: 'sync' })).toBe(1200);
        expect(valueOf(samples, 'coupon_issue_requests_total', { path: 'sync', code: 'OK' })).toBe(100);
        expect(valueOf(samples, 'coupon_issue_duration_seconds_count', { path: 'sync' })).toBe(1200);
        expect(valueOf(samples, 'coupon_reserved', { coupon_id: String(couponId) })).toBe(100);
      }

      process.kill(workers[0]!, 'SIGKILL');
      await waitUntil('a worker restarted', async () => {
        const now = childPids(primary);
        return now.length === 2 && !now.includes(workers[0]!);
      });
      expect(proc.output()).toMatch(/api worker died; restarting it/);
      const after = await answeringPids(proc.url, 2);
      expect(after).toContain(workers[1]);
      expect(after).not.toContain(workers[0]);
      const next = await insertTestCoupon(t.deps, { total: 50 });
      expect((await fireIssues([proc.url], '/v1/issue', floodBodies(next, 300, 0), 32)).outcomes['200']).toBe(50);
      expect((await countIssues(t.deps.db, next)).rows).toBe(50);
    } finally {
      await stopAll(proc);
    }
  });

  it('coupon start with API_WORKERS=2: the async flood is exact, the consumer runs once, /metrics and the live page sum every process', async () => {
    // METRICS_PORT stays unused: the consumer's metrics are served with the workers', on PORT.
    const proc = await startHttpProcess({ ...t.env, API_WORKERS: '2', METRICS_PORT: String(await freePort()) }, { args: ['start'] });
    try {
      expect(childPids(proc.child.pid!)).toHaveLength(3); // two API workers and the consumer
      const couponId = await insertTestCoupon(t.deps, { total: 1000 });
      const flood = await fireIssues([proc.url], '/v1/issue-async', floodBodies(couponId, 3000, 500), 64);
      expect(succeededOf(flood.outcomes)).toBe(1000);
      expect(flood.outcomes['202']).toBe(1000);
      await waitForDrain(t.deps, couponId);
      expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 1000, distinctUsers: 1000, issuedQuantity: 1000, totalQuantity: 1000 });
      expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(1000);

      await waitUntil('the consumer counted in /metrics', async () => valueOf(await scrape(proc.url), 'coupon_consumer_persisted_total') === 1000);
      const samples = await scrape(proc.url);
      expect(sumOf(samples, 'coupon_issue_requests_total', { path: 'async' })).toBe(3500);
      expect(valueOf(samples, 'coupon_issue_requests_total', { path: 'async', code: 'OK' })).toBe(1000);
      expect(valueOf(samples, 'coupon_reserved', { coupon_id: String(couponId) })).toBe(1000);
      expect(valueOf(samples, 'coupon_persisted', { coupon_id: String(couponId) })).toBe(1000);

      // Each worker adds its answers to Redis once a second: the live page's history holds both workers' answers.
      const want = byCode(flood.outcomes);
      let got: Record<string, number> = {};
      await waitUntil('the flood in the live history', async () => {
        const s = await openSse<LiveSnapshot>(`${proc.url}/v1/coupons/${couponId}/live`);
        await waitUntil('the history event', async () => s.history.length > 0, 5000);
        s.close();
        got = summed(s.history[0] as LiveSnapshot[]);
        return Object.values(got).reduce((a, b) => a + b, 0) >= flood.total;
      }, 10_000).catch(() => {});
      expect(got).toEqual(want);
    } finally {
      await stopAll(proc);
    }
  });

  it('--workers takes what API_WORKERS takes, and refuses the rest as a usage error', async () => {
    const bad = spawnCli(['api', '--workers', '0'], t.env);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/--workers.*auto or an integer from 1 to 256/);
  });

  it('a worker that refuses to start (REQUIRE_DURABLE_REDIS unmet) fails the service with its exit code, not a restart loop', async () => {
    const redis = await startRedisServer(PERSISTENCE_OFF);
    try {
      const p = spawnCli(['api'], { ...t.env, REDIS_URL: redis.url, REQUIRE_DURABLE_REDIS: '1', API_WORKERS: '2', LOG_LEVEL: 'error', PORT: '0' });
      expect(await p.exited).toBe(2);
      expect(p.output()).toMatch(/REQUIRE_DURABLE_REDIS requires/);
      expect(p.output()).toMatch(/api worker exited before serving; stopping/);
      expect(p.output()).not.toMatch(/restarting/);
    } finally {
      await redis.stop();
    }
  });

  it('SIGTERM (coupon api --workers 2) lets every request in flight finish in every worker: each row written was answered 200', async () => {
    const proc = await startHttpProcess({ ...t.env, ISSUE_STRATEGY: 'mysql-atomic' }, { args: ['api', '--workers', '2'] });
    const pids = [proc.child.pid!, ...await answeringPids(proc.url, 2)];
    const couponId = await insertTestCoupon(t.deps, { total: null });
    let userId = 0;
    let stopping = false;
    const flood = floodWhile([proc.url], '/v1/issue', () => (stopping ? undefined : { couponId, userId: ++userId }), 32);
    await waitUntil('the flood under way', async () => userId > 500);
    // No request is sent after this, so none can meet a closing connection; the 32 in flight must each be answered.
    stopping = true;
    const exited = proc.stop();
    const answers = await flood;
    expect(await exited).toBe(0);
    expect(pids.filter(isRunning)).toEqual([]);
    const ok = countOutcomes(answers)['200'];
    expect(ok).toBe(answers.length);
    expect((await countIssues(t.deps.db, couponId)).rows).toBe(ok);
  });
});
