import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { loadConfig } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let app: FastifyInstance;
const TOKEN = 'test-admin-token';

const couponBody = (over: Record<string, unknown> = {}) => ({
  title: 'Opening sale', totalQuantity: 3, discountAmount: 5000, minAvailableAmount: 20000,
  dateIssueStart: new Date(Date.now() - 60_000).toISOString(), dateIssueEnd: new Date(Date.now() + 3_600_000).toISOString(), ...over,
});
const issue = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/issue', payload: payload as object, headers: { 'content-type': 'application/json', ...headers } });
const admin = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  t = await createTestEnv();
  // The same deps with an admin token configured.
  app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, ADMIN_TOKEN: TOKEN }) });
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});

async function tableCounts() {
  const [[r]] = (await t.deps.db.query('SELECT (SELECT COUNT(*) FROM coupons) AS coupons, (SELECT COUNT(*) FROM coupon_issues) AS issues')) as unknown as [[{ coupons: number; issues: number }]];
  return { coupons: Number(r.coupons), issues: Number(r.issues) };
}

describe('POST /v1/coupons', () => {
  it('creates a coupon: 201 with the domain fields and issuedQuantity 0', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload: couponBody({ dateIssueStart: '2026-12-01T10:00:00+09:00', dateIssueEnd: '2026-12-01T11:00:00+09:00' }), headers: admin });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      title: 'Opening sale', couponType: 'FIRST_COME_FIRST_SERVED', totalQuantity: 3, issuedQuantity: 0,
      discountAmount: 5000, minAvailableAmount: 20000, dateIssueStart: '2026-12-01T01:00:00.000Z', dateIssueEnd: '2026-12-01T02:00:00.000Z',
    });
    expect(res.json().id).toBeGreaterThan(0);
    expect(Date.parse(res.json().createdAt)).not.toBeNaN();
  });

  it('accepts an unlimited coupon (totalQuantity null)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload: couponBody({ totalQuantity: null }), headers: admin });
    expect(res.statusCode).toBe(201);
    expect(res.json().totalQuantity).toBeNull();
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer nope' }],
    ['a token without Bearer', { authorization: TOKEN }],
  ])('answers 401 UNAUTHORIZED with %s, and writes nothing', async (_, headers) => {
    const before = await tableCounts();
    const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload: couponBody(), headers });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'UNAUTHORIZED' });
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ['an empty title', { title: '' }],
    ['a 256-char title', { title: 'x'.repeat(256) }],
    ['quantity 0', { totalQuantity: 0 }],
    ['quantity over 100,000,000', { totalQuantity: 100_000_001 }],
    ['quantity as a string', { totalQuantity: '10' }],
    ['a fractional quantity', { totalQuantity: 1.5 }],
    ['a negative discount', { discountAmount: -1 }],
    ['a negative minimum', { minAvailableAmount: -1 }],
    ['a date without offset', { dateIssueStart: '2026-12-01T10:00:00' }],
    ['a non-date', { dateIssueEnd: 'soon' }],
    ['end before start', { dateIssueStart: '2026-12-01T11:00:00Z', dateIssueEnd: '2026-12-01T10:00:00Z' }],
    ['end equal to start', { dateIssueStart: '2026-12-01T11:00:00Z', dateIssueEnd: '2026-12-01T11:00:00Z' }],
    ['an extra field', { issuedQuantity: 5 }],
  ])('answers 400 INVALID_REQUEST for %s, and writes nothing', async (_, over) => {
    const before = await tableCounts();
    const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload: couponBody(over), headers: admin });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
    expect(res.json().comment).toEqual(expect.any(String));
    expect(await tableCounts()).toEqual(before);
  });

  it('answers 400 for a missing field', async () => {
    const { title: _, ...rest } = couponBody();
    const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload: rest, headers: admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_REQUEST');
  });
});

describe('GET /v1/coupons/:couponId', () => {
  it('returns the coupon', async () => {
    const id = await insertTestCoupon(t.deps, { total: 5 });
    const res = await app.inject({ url: `/v1/coupons/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, totalQuantity: 5, issuedQuantity: 0 });
  });
  it('answers 404 COUPON_NOT_EXIST for an unknown id', async () => {
    const res = await app.inject({ url: '/v1/coupons/987654321' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'COUPON_NOT_EXIST' });
  });
  it.each(['abc', '0', '-3', '1.5', '9007199254740992'])('answers 400 INVALID_REQUEST for id %j', async (id) => {
    const res = await app.inject({ url: `/v1/coupons/${id}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_REQUEST');
  });
});

describe('POST /v1/issue', () => {
  it('issues, refuses the same user, then refuses when sold out; the counts match', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 2 });
    expect((await issue({ userId: 1, couponId })).json()).toEqual({ isSuccess: true, comment: null });
    const dup = await issue({ userId: 1, couponId });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ isSuccess: false, code: 'DUPLICATED_COUPON_ISSUE' });
    expect((await issue({ userId: 2, couponId })).statusCode).toBe(200);
    const soldOut = await issue({ userId: 3, couponId });
    expect(soldOut.statusCode).toBe(409);
    expect(soldOut.json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
    // A winner asking again after the sell-out is told it is a duplicate (duplicate is checked before stock).
    expect((await issue({ userId: 2, couponId })).json().code).toBe('DUPLICATED_COUPON_ISSUE');
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 2, distinctUsers: 2, issuedQuantity: 2, totalQuantity: 2 });
  });

  it('answers 409 INVALID_COUPON_ISSUE_DATE before the start and at the end', async () => {
    const future = await insertTestCoupon(t.deps, { total: 5, start: new Date(Date.now() + 60_000), end: new Date(Date.now() + 120_000) });
    const past = await insertTestCoupon(t.deps, { total: 5, start: new Date(Date.now() - 120_000), end: new Date(Date.now() - 1) });
    for (const couponId of [future, past]) {
      const res = await issue({ userId: 1, couponId });
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('INVALID_COUPON_ISSUE_DATE');
      expect((await countIssues(t.deps.db, couponId)).rows).toBe(0);
    }
  });

  it('answers 404 COUPON_NOT_EXIST for an unknown coupon, and writes nothing', async () => {
    const before = await tableCounts();
    const res = await issue({ userId: 1, couponId: 987654321 });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'COUPON_NOT_EXIST' });
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ['a string id', { userId: '1', couponId: 1 }],
    ['an array id', { userId: [5], couponId: 1 }],
    ['a null id', { userId: null, couponId: 1 }],
    ['a zero id', { userId: 0, couponId: 1 }],
    ['a negative id', { userId: -5, couponId: 1 }],
    ['a fractional id', { userId: 1.5, couponId: 1 }],
    ['an id above 2^53-1', { userId: 2 ** 53, couponId: 1 }],
    ['a huge id', { userId: 1e300, couponId: 1 }],
    ['a missing field', { userId: 1 }],
    ['an extra field', { userId: 1, couponId: 1, admin: true }],
    ['a JSON array', [1, 2]],
    ['a JSON string', 'hello'],
  ])('answers 400 INVALID_REQUEST for %s, and writes nothing', async (_, payload) => {
    const before = await tableCounts();
    const res = await app.inject({ method: 'POST', url: '/v1/issue', body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ['malformed JSON', '{"userId": 1,'],
    ['an empty body', ''],
  ])('answers 400 INVALID_REQUEST for %s', async (_, body) => {
    const res = await app.inject({ method: 'POST', url: '/v1/issue', body, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
  });

  it('answers 413 for a body over 16 KiB, and writes nothing', async () => {
    const before = await tableCounts();
    const res = await app.inject({ method: 'POST', url: '/v1/issue', body: JSON.stringify({ userId: 1, couponId: 1, pad: 'x'.repeat(17 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
    expect(await tableCounts()).toEqual(before);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/issue', body: 'userId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('INVALID_REQUEST');
  });
});

describe('GET /v1/coupons/:couponId/issues/:userId', () => {
  it('returns ISSUED with the date for an issued user, 404 COUPON_ISSUE_NOT_EXIST otherwise', async () => {
    const couponId = await insertTestCoupon(t.deps, { total: 5 });
    await issue({ userId: 77, couponId });
    const res = await app.inject({ url: `/v1/coupons/${couponId}/issues/77` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ couponId, userId: 77, status: 'ISSUED' });
    expect(Math.abs(Date.parse(res.json().dateIssued) - Date.now())).toBeLessThan(60_000);
    const missing = await app.inject({ url: `/v1/coupons/${couponId}/issues/78` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ isSuccess: false, code: 'COUPON_ISSUE_NOT_EXIST' });
  });
  it('answers 400 for a bad user id', async () => {
    expect((await app.inject({ url: '/v1/coupons/1/issues/x' })).statusCode).toBe(400);
  });
});

describe('other routes', () => {
  it('GET /health is 200 with both stores up', async () => {
    const res = await app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'UP', mysql: 'UP', redis: 'UP', load: 'OK', pid: process.pid });
    // The shared Redis's own settings decide which; redis-durability.test.ts pins each one down.
    expect(['nothing', 'process-crash', 'power-loss']).toContain(res.json().redisPersistence.survives);
  });
  it('an unknown route is a 404 in our error shape', async () => {
    const res = await app.inject({ url: '/v2/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'NOT_FOUND' });
  });
});
