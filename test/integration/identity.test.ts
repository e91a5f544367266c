import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_TOKEN, bearer, HS_SECRET, hsToken, noneToken, RSA_PUBLIC_PEM, rsToken, rsTokenFromOtherKey, type TokenOptions } from '../helpers/tokens.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'fcfs-coupon';

// Each variant: how the service is configured, how a valid token is signed, and tokens it must refuse.
const variants = [
  {
    name: 'HS256',
    env: { JWT_SECRET: HS_SECRET },
    sign: (o: TokenOptions) => hsToken(o),
    wrongKey: (o: TokenOptions) => hsToken(o, 'another-secret-of-at-least-32-characters'),
    // An RS256 token where HS256 is configured.
    wrongAlgorithm: (o: TokenOptions) => rsToken(o),
  },
  {
    name: 'RS256 (with issuer and audience)',
    env: { JWT_PUBLIC_KEY: RSA_PUBLIC_PEM, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
    sign: (o: TokenOptions) => rsToken({ issuer: ISSUER, audience: AUDIENCE, ...o }),
    wrongKey: (o: TokenOptions) => rsTokenFromOtherKey({ issuer: ISSUER, audience: AUDIENCE, ...o }),
    // Algorithm confusion: HS256 "signed" with the public key as the HMAC secret.
    wrongAlgorithm: (o: TokenOptions) => hsToken({ issuer: ISSUER, audience: AUDIENCE, ...o }, RSA_PUBLIC_PEM),
  },
] as const;

describe.each(variants)('AUTH_MODE=jwt, $name', (v) => {
  let t: TestEnv;
  let app: FastifyInstance;
  beforeAll(async () => {
    t = await createTestEnv();
    // Limits off: these tests are about identity alone.
    app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, AUTH_MODE: 'jwt', ADMIN_TOKEN, RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0', ...v.env }) });
  });
  afterAll(async () => {
    await app?.close();
    await t?.destroy();
  });

  async function written(couponId: number) {
    const [[r]] = (await t.deps.db.query('SELECT COUNT(*) AS n FROM coupon_issues WHERE coupon_id = ?', [couponId])) as unknown as [[{ n: number }]];
    return Number(r.n) + (await t.deps.redis.hlen(t.deps.keys.users(couponId)));
  }

  const endpoints = [
    { name: 'POST /v1/issue', call: (couponId: number, headers: Record<string, string>, body: object = { couponId }) => app.inject({ method: 'POST', url: '/v1/issue', payload: body, headers }) },
    { name: 'POST /v1/issue-async', call: (couponId: number, headers: Record<string, string>, body: object = { couponId }) => app.inject({ method: 'POST', url: '/v1/issue-async', payload: body, headers }) },
    { name: 'GET /v1/coupons/:couponId/issues/:userId', call: (couponId: number, headers: Record<string, string>) => app.inject({ url: `/v1/coupons/${couponId}/issues/7`, headers }) },
  ];

  const refused: [string, () => Promise<Record<string, string>>][] = [
    ['no token', async () => ({})],
    ['a token without Bearer', async () => ({ authorization: await v.sign({ sub: '7' }) })],
    ['garbage', async () => ({ authorization: 'Bearer not.a.jwt' })],
    ['a token signed with the wrong key', async () => bearer(await v.wrongKey({ sub: '7' }))],
    ['a token of the wrong algorithm', async () => bearer(await v.wrongAlgorithm({ sub: '7' }))],
    ['alg: none', async () => bearer(noneToken('7'))],
    ['an expired token', async () => bearer(await v.sign({ sub: '7', expiresIn: -60 }))],
    ['a token without exp', async () => bearer(await v.sign({ sub: '7', expiresIn: null }))],
    ['a token without sub', async () => bearer(await v.sign({ sub: undefined }))],
    ['sub 0', async () => bearer(await v.sign({ sub: '0' }))],
    ['sub -7', async () => bearer(await v.sign({ sub: '-7' }))],
    ['sub 7.5', async () => bearer(await v.sign({ sub: '7.5' }))],
    ['sub "seven"', async () => bearer(await v.sign({ sub: 'seven' }))],
    ['sub 2^53', async () => bearer(await v.sign({ sub: String(2 ** 53) }))],
    ['a tampered payload', async () => {
      const [h, , s] = (await v.sign({ sub: '7' })).split('.');
      return bearer(`${h}.${Buffer.from(JSON.stringify({ sub: '8', exp: 4102444800 })).toString('base64url')}.${s}`);
    }],
    ...('JWT_ISSUER' in v.env ? [
      ['another issuer', async () => bearer(await v.sign({ sub: '7', issuer: 'https://elsewhere.test' }))],
      ['another audience', async () => bearer(await v.sign({ sub: '7', audience: 'another-service' }))],
    ] as [string, () => Promise<Record<string, string>>][] : []),
  ];

  describe.each(endpoints)('$name', (e) => {
    it.each(refused)('answers 401 UNAUTHORIZED for %s, and writes nothing', async (_, headers) => {
      const couponId = await insertTestCoupon(t.deps, { total: 5 });
      const res = await e.call(couponId, await headers());
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json()).toMatchObject({ isSuccess: false, code: 'UNAUTHORIZED', comment: expect.any(String) });
      expect(await written(couponId)).toBe(0);
    });
  });

  it('issues to the token\'s user with or without userId in the body; another userId is 403 FORBIDDEN', async () => {
    const sync = await insertTestCoupon(t.deps, { total: 5 });
    const async_ = await insertTestCoupon(t.deps, { total: 5 });
    const as7 = bearer(await v.sign({ sub: '7' }));
    const as8 = bearer(await v.sign({ sub: '8' }));
    expect((await endpoints[0]!.call(sync, as7)).statusCode).toBe(200);
    expect((await endpoints[0]!.call(sync, as8, { couponId: sync, userId: 8 })).statusCode).toBe(200);
    expect((await endpoints[1]!.call(async_, as7)).statusCode).toBe(202);
    for (const [i, couponId] of [[0, sync], [1, async_]] as const) {
      const before = await written(couponId);
      const res = await endpoints[i]!.call(couponId, as7, { couponId, userId: 9 });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ isSuccess: false, code: 'FORBIDDEN' });
      expect(await written(couponId)).toBe(before);
    }
    const [[row]] = (await t.deps.db.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ? ORDER BY user_id', [sync])) as unknown as [[{ user_id: number }]];
    expect(Number(row.user_id)).toBe(7);
    expect(await t.deps.redis.hkeys(t.deps.keys.users(async_))).toEqual(['7']);

    // Reading: one's own status, never another user's.
    expect((await app.inject({ url: `/v1/coupons/${sync}/issues/7`, headers: as7 })).json()).toMatchObject({ userId: 7, status: 'ISSUED' });
    expect((await app.inject({ url: `/v1/coupons/${async_}/issues/7`, headers: as7 })).json()).toMatchObject({ userId: 7, status: 'PENDING' });
    const other = await app.inject({ url: `/v1/coupons/${sync}/issues/8`, headers: as7 });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ isSuccess: false, code: 'FORBIDDEN' });
  });

  it('a user token never opens the admin endpoints; the ADMIN_TOKEN does', async () => {
    const coupon = { title: 't', totalQuantity: 1, discountAmount: 1, minAvailableAmount: 0, dateIssueStart: '2026-01-01T00:00:00Z', dateIssueEnd: '2027-01-01T00:00:00Z' };
    const asUser = await app.inject({ method: 'POST', url: '/v1/coupons', payload: coupon, headers: bearer(await v.sign({ sub: '7' })) });
    expect(asUser.statusCode).toBe(401);
    expect(asUser.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await app.inject({ method: 'POST', url: '/v1/coupons', payload: coupon, headers: bearer(ADMIN_TOKEN) })).statusCode).toBe(201);
  });

  it('coupon details and /health stay public', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 5 });
    expect((await app.inject({ url: `/v1/coupons/${couponId}` })).statusCode).toBe(200);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});
