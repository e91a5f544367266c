import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain, waitUntil } from '../helpers/drain.js';
import { parseSamples, valueOf } from '../helpers/metrics.js';
import { freePort, spawnCli, waitForHealthy } from '../../src/harness/service-processes.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

const scrape = async (url: string) => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return parseSamples(await res.text());
};

const issueAsync = (url: string, couponId: number, userId: number) => fetch(`${url}/v1/issue-async`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ couponId, userId }),
});

describe('metrics of the running commands', () => {
  it('coupon consumer serves its own on /metrics at METRICS_PORT', async () => {
    const metricsPort = await freePort();
    const consumer = spawnCli(['consumer'], { ...t.env, METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${metricsPort}`;
      const couponId = await insertTestCoupon(t.deps, { total: 10 });
      const apiPort = await freePort();
      const api = spawnCli(['api'], { ...t.env, PORT: String(apiPort), HOST: '127.0.0.1' });
      try {
        const apiUrl = `http://127.0.0.1:${apiPort}`;
        await waitForHealthy(apiUrl, api);
        for (let userId = 1; userId <= 4; userId++) expect((await issueAsync(apiUrl, couponId, userId)).status).toBe(202);
      } finally {
        await api.stop();
      }
      await waitForDrain(t.deps, couponId);
      await waitUntil('the consumer counted 4 rows', async () => {
        try {
          return valueOf(await scrape(url), 'coupon_consumer_persisted_total') === 4;
        } catch {
          return false; // not listening yet
        }
      });
      const samples = await scrape(url);
      expect(valueOf(samples, 'process_cpu_seconds_total')).toEqual(expect.any(Number));
      expect(samples.some((s) => s.name === 'coupon_issue_requests_total')).toBe(false); // the API's are the API's
      expect((await fetch(`${url}/other`)).status).toBe(404);
    } finally {
      expect(await consumer.stop()).toBe(0);
    }
  });

  it('coupon start serves the API\'s and the consumer\'s on the API\'s /metrics', async () => {
    const port = await freePort();
    const start = spawnCli(['start'], { ...t.env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(await freePort()) });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHealthy(url, start);
      const couponId = await insertTestCoupon(t.deps, { total: 10 });
      for (let userId = 1; userId <= 3; userId++) expect((await issueAsync(url, couponId, userId)).status).toBe(202);
      await waitUntil('drained and counted', async () => {
        const s = await scrape(url);
        return valueOf(s, 'coupon_consumer_persisted_total') === 3 && valueOf(s, 'coupon_persisted', { coupon_id: String(couponId) }) === 3;
      });
      const samples = await scrape(url);
      expect(valueOf(samples, 'coupon_issue_requests_total', { path: 'async', code: 'OK' })).toBe(3);
      expect(valueOf(samples, 'coupon_reserved', { coupon_id: String(couponId) })).toBe(3);
      expect(valueOf(samples, 'coupon_consistency_gap', { coupon_id: String(couponId) })).toBe(0);
    } finally {
      expect(await start.stop()).toBe(0);
    }
  });
});
