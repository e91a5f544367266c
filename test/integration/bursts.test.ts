import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { createStrategy } from '../../src/sync-issue/index.js';
import { burst, postJson, tally } from '../helpers/raw-http.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_TOKEN, bearer, HS_SECRET, hsToken } from '../helpers/tokens.js';

const N = 300;

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

/** An app on a real port with the given extra environment and, for /v1/issue, strategy. */
async function serve(env: Record<string, string>, strategy?: string) {
  const deps = { ...t.deps, config: loadConfig({ ...t.env, ...env }) };
  const app: FastifyInstance = await buildApp(deps, strategy ? { strategy: createStrategy(strategy as never, deps) } : {});
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0 };
}

/** Units taken: MySQL rows for /v1/issue, reservations in Redis for /v1/issue-async. */
async function taken(path: string, couponId: number) {
  if (path === '/v1/issue') {
    const c = await countIssues(t.deps.db, couponId);
    expect(c.issuedQuantity).toBe(c.rows);
    return c.rows;
  }
  const reserved = await t.deps.redis.hlen(t.deps.keys.users(couponId));
  expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(reserved);
  return reserved;
}

const targets = [
  ...(['mysql-atomic', 'mysql-lock', 'redis-lock', 'process-lock'] as const).map((s) => ({ name: `/v1/issue with ${s}`, path: '/v1/issue', strategy: s, ok: '200' })),
  { name: '/v1/issue-async', path: '/v1/issue-async', strategy: undefined, ok: '202' },
];

describe.each(targets)('single-packet bursts on $name (300 connections opened first, then all written at once)', (target) => {
  it('one user\'s 300 identical requests (limits off): exactly one issue, the rest 409 DUPLICATED_COUPON_ISSUE', async () => {
    const { app, port } = await serve({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' }, target.strategy);
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      const answers = tally(await burst(port, Array.from({ length: N }, () => postJson(target.path, { userId: 42, couponId }))));
      console.log(`burst, one user, ${target.name}: ${JSON.stringify(answers)}`);
      expect(answers).toEqual({ [target.ok]: 1, '409 DUPLICATED_COUPON_ISSUE': N - 1 });
      expect(await taken(target.path, couponId)).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('a coupon of 1 and 300 distinct users (limits off): exactly one issue, the rest 409 INVALID_COUPON_ISSUE_QUANTITY', async () => {
    const { app, port } = await serve({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' }, target.strategy);
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 1 });
      const answers = tally(await burst(port, Array.from({ length: N }, (_, i) => postJson(target.path, { userId: 1000 + i, couponId }))));
      console.log(`burst, coupon of 1, ${target.name}: ${JSON.stringify(answers)}`);
      expect(answers).toEqual({ [target.ok]: 1, '409 INVALID_COUPON_ISSUE_QUANTITY': N - 1 });
      expect(await taken(target.path, couponId)).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('one user\'s 300 identical requests with AUTH_MODE=jwt and its default limits: exactly one issue, the rest 409 or 429', async () => {
    const { app, port } = await serve({ AUTH_MODE: 'jwt', JWT_SECRET: HS_SECRET, ADMIN_TOKEN }, target.strategy);
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 100 });
      const auth = bearer(await hsToken({ sub: '42' }));
      const answers = tally(await burst(port, Array.from({ length: N }, () => postJson(target.path, { couponId }, auth))));
      console.log(`burst, one user, jwt + limits, ${target.name}: ${JSON.stringify(answers)}`);
      expect(answers[target.ok]).toBe(1);
      expect(answers['429 RATE_LIMITED']).toBeGreaterThan(0);
      expect((answers['409 DUPLICATED_COUPON_ISSUE'] ?? 0) + answers['429 RATE_LIMITED']!).toBe(N - 1);
      expect(await taken(target.path, couponId)).toBe(1);
    } finally {
      await app.close();
    }
  });
});
