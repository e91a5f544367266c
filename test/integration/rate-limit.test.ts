import type { FastifyInstance } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { startHttpProcess, type ServiceProcess } from '../../src/harness/service-processes.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

const LIMIT = 5;

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

interface Answer { status: number; code?: string; retryAfter: string | null }
const second = (ms: number) => Math.floor(ms / 1000);

/**
 * One user at 10x the limit for 2 s: a request every 1000 / (10 * LIMIT) ms, not waiting for answers,
 * round-robin over the base URLs. Returns each answer and the calendar seconds any of them could have
 * been counted in (from the second it was sent to the second it was answered).
 */
async function hammer(urls: readonly string[], path: string, body: object, durationMs = 2000) {
  const pending: Promise<Answer>[] = [];
  const seconds = new Set<number>();
  const start = Date.now();
  for (let i = 0; Date.now() - start < durationMs; i++) {
    const sentAt = Date.now();
    pending.push(fetch(`${urls[i % urls.length]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(async (res) => {
        for (let s = second(sentAt); s <= second(Date.now()); s++) seconds.add(s);
        const json = (await res.json()) as { code?: string };
        return { status: res.status, code: json.code, retryAfter: res.headers.get('retry-after') };
      }));
    await sleep(1000 / (10 * LIMIT));
  }
  const answers = await Promise.all(pending);
  return { answers, allowedAtMost: LIMIT * seconds.size };
}

function check({ answers, allowedAtMost }: Awaited<ReturnType<typeof hammer>>) {
  const limited = answers.filter((a) => a.status === 429);
  const passed = answers.length - limited.length;
  console.log(`${answers.length} requests: ${passed} passed (at most ${allowedAtMost} allowed), ${limited.length} answered 429`);
  expect(passed).toBeGreaterThan(0);
  expect(passed).toBeLessThanOrEqual(allowedAtMost);
  expect(limited.length).toBeGreaterThan(0);
  for (const a of limited) expect(a).toEqual({ status: 429, code: 'RATE_LIMITED', retryAfter: '1' });
}

async function waitForNextSecond() {
  await sleep(1000 - (Date.now() % 1000) + 20);
}

describe(`RATE_LIMIT_PER_USER=${LIMIT}`, () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, RATE_LIMIT_PER_USER: String(LIMIT), RATE_LIMIT_PER_IP: '0' }) });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => { await app?.close(); });

  it.each(['/v1/issue', '/v1/issue-async'])('%s: one user at 10x the limit for 2 s; at most the limit per second passes, the rest 429 with Retry-After; after waiting it passes again', async (path) => {
    const couponId = await insertTestCoupon(t.deps, { total: 100 });
    check(await hammer([url], path, { userId: 1, couponId }));
    await waitForNextSecond();
    const again = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 1, couponId }) });
    expect(again.status).toBe(409); // past the limit: the business answer again (this user holds the coupon)
    expect(((await again.json()) as { code: string }).code).toBe('DUPLICATED_COUPON_ISSUE');
  });

  it('counts each user apart: another user is not limited by the first', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 100 });
    await hammer([url], '/v1/issue-async', { userId: 1, couponId }, 300);
    const other = await fetch(`${url}/v1/issue-async`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 2, couponId }) });
    expect(other.status).toBe(202);
  });
});

describe('RATE_LIMIT_PER_IP and TRUST_PROXY', () => {
  const sendFromMany = async (app: FastifyInstance, couponId: number) => Promise.all(Array.from({ length: 20 }, (_, i) => app.inject({
    method: 'POST', url: '/v1/issue-async', payload: { userId: 100 + i, couponId }, headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
  })));

  it('without TRUST_PROXY, X-Forwarded-For is ignored: 20 users from one address share its limit, and a 429 reserves nothing', async () => {
    const app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '3' }) });
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      const from = second(Date.now());
      const answers = await sendFromMany(app, couponId);
      const accepted = answers.filter((r) => r.statusCode === 202).length;
      expect(accepted).toBeLessThanOrEqual(3 * (second(Date.now()) - from + 1)); // 3 in each calendar second they spanned
      expect(answers.filter((r) => r.statusCode === 429).length).toBe(20 - accepted);
      expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(accepted);
    } finally {
      await app.close();
    }
  });

  it('with TRUST_PROXY, each forwarded address has its own limit', async () => {
    const app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '3', TRUST_PROXY: 'loopback' }) });
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      expect((await sendFromMany(app, couponId)).map((r) => r.statusCode)).toEqual(Array(20).fill(202));
    } finally {
      await app.close();
    }
  });
});

describe('two API processes', () => {
  it('share the limit: one user alternating between them passes at most the limit per second in all', async () => {
    const procs: ServiceProcess[] = [];
    try {
      const apis = await Promise.all([0, 1].map(() => startHttpProcess({ ...t.env, RATE_LIMIT_PER_USER: String(LIMIT), RATE_LIMIT_PER_IP: '0' })));
      procs.push(...apis);
      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      // Each process alone sees 5x the limit: counted apart, they would let twice the limit through.
      check(await hammer(apis.map((a) => a.url), '/v1/issue-async', { userId: 1, couponId }));
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
});
