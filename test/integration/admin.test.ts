import { describe, expect, it } from 'vitest';
import { readRedisRules } from '../../src/async-issue/coupon-mirror.js';
import { useTestApp } from '../helpers/test-app.js';
import { insertTestCoupon } from '../helpers/test-env.js';

const TOKEN = 'admin-token-for-tests';
const admin = { authorization: `Bearer ${TOKEN}` };
const ctx = useTestApp({ ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn' });

const list = (query: string, headers: Record<string, string> = admin) => ctx.app.inject({ url: `/v1/coupons${query}`, headers });
const patch = (id: number | string, payload: unknown, headers: Record<string, string> = admin) =>
  ctx.app.inject({ method: 'PATCH', url: `/v1/coupons/${id}`, body: JSON.stringify(payload), headers: { ...headers, 'content-type': 'application/json' } });
const close = (id: number | string, headers: Record<string, string> = admin) => ctx.app.inject({ method: 'POST', url: `/v1/coupons/${id}/close`, headers });
const issueAsync = (couponId: number, userId: number) => ctx.app.inject({ method: 'POST', url: '/v1/issue-async', payload: { couponId, userId } });
const issueSync = (couponId: number, userId: number) => ctx.app.inject({ method: 'POST', url: '/v1/issue', payload: { couponId, userId } });

async function couponRow(id: number) {
  const [[row]] = (await ctx.t.deps.db.query('SELECT * FROM coupons WHERE id = ?', [id])) as unknown as [[Record<string, unknown>]];
  return row;
}

describe('GET /v1/coupons', () => {
  it('pages newest first with a cursor, default 20, until next is null', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 25; i++) ids.push(await insertTestCoupon(ctx.t.deps, { total: i + 1 }));
    const first = await list('');
    expect(first.statusCode).toBe(200);
    expect(first.json().items).toHaveLength(20);
    const seen: number[] = [];
    let next: string | null = null;
    do {
      const res = await list(`?limit=7${next === null ? '' : `&after=${next}`}`);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: { id: number; totalQuantity: number }[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.items.map((c) => c.id));
      next = page.next;
    } while (next !== null);
    const all = [...ids].sort((a, b) => b - a);
    expect(seen).toEqual(all.filter((id) => id <= all[0]!)); // every coupon once, newest first
    expect(first.json().items.map((c: { id: number }) => c.id)).toEqual(all.slice(0, 20));
    const last = await list(`?limit=100&after=${Math.min(...ids)}`);
    expect(last.json()).toEqual({ items: [], next: null });
    const exact = await list(`?limit=5&after=${ids[5]}`); // exactly 5 older ones: no next page
    expect(exact.json().items).toHaveLength(5);
    expect(exact.json().next).toBeNull();
  });

  it.each([
    ['limit 0', '?limit=0'], ['limit 101', '?limit=101'], ['limit -1', '?limit=-1'], ['limit 1.5', '?limit=1.5'],
    ['limit abc', '?limit=abc'], ['an empty limit', '?limit='], ['limit twice', '?limit=1&limit=2'],
    ['after 0', '?after=0'], ['after abc', '?after=abc'], ['an unknown parameter', '?page=2'],
  ])('answers 400 INVALID_REQUEST for %s', async (_, query) => {
    const res = await list(query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
  });
});

describe('admin token', () => {
  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer nope' }],
    ['a token of another length', { authorization: `Bearer ${TOKEN}x` }],
  ])('answers 401 UNAUTHORIZED with %s on every admin call, and changes nothing', async (_, headers) => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 5 });
    const before = await couponRow(id);
    for (const res of [await list('', headers), await patch(id, { totalQuantity: 9 }, headers), await close(id, headers)]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ isSuccess: false, code: 'UNAUTHORIZED' });
    }
    expect(await couponRow(id)).toEqual(before);
  });
});

describe('PATCH /v1/coupons/:couponId', () => {
  it('changes any of the fields, answers the coupon, and publishes the terms to Redis', async () => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 5 });
    expect((await issueAsync(id, 1)).statusCode).toBe(202); // loads the rules into Redis
    const res = await patch(id, {
      title: 'Evening sale', totalQuantity: 7, discountAmount: 700, minAvailableAmount: 7000,
      dateIssueStart: '2026-01-01T00:00:00+09:00', dateIssueEnd: '2099-01-01T00:00:00Z',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id, title: 'Evening sale', totalQuantity: 7, issuedQuantity: 0, issueMode: 'ASYNC', discountAmount: 700, minAvailableAmount: 7000,
      dateIssueStart: '2025-12-31T15:00:00.000Z', dateIssueEnd: '2099-01-01T00:00:00.000Z',
    });
    expect((await ctx.app.inject({ url: `/v1/coupons/${id}` })).json()).toEqual(res.json());
    expect(await readRedisRules(ctx.t.deps, id)).toMatchObject({
      totalQuantity: 7, dateIssueStart: new Date('2025-12-31T15:00:00Z'), dateIssueEnd: new Date('2099-01-01T00:00:00Z'),
    });
    const one = await patch(id, { title: 'Only the title' });
    expect(one.json()).toMatchObject({ title: 'Only the title', totalQuantity: 7, discountAmount: 700 });
    const unlimited = await patch(id, { totalQuantity: null });
    expect(unlimited.json().totalQuantity).toBeNull();
    expect((await readRedisRules(ctx.t.deps, id))?.totalQuantity).toBeNull();
  });

  it.each([
    ['an empty body', {}],
    ['an empty title', { title: '' }],
    ['quantity 0', { totalQuantity: 0 }],
    ['quantity over 100,000,000', { totalQuantity: 100_000_001 }],
    ['quantity as a string', { totalQuantity: '10' }],
    ['a negative discount', { discountAmount: -1 }],
    ['a fractional minimum', { minAvailableAmount: 1.5 }],
    ['a date without offset', { dateIssueEnd: '2099-01-01T00:00:00' }],
    ['a non-date', { dateIssueStart: 'now' }],
    ['an end before the current start', { dateIssueEnd: '2000-01-01T00:00:00Z' }],
    ['a start after the current end', { dateIssueStart: '2999-01-01T00:00:00Z' }],
    ['a field that cannot change', { issuedQuantity: 0 }],
    ['an unknown field', { issueMode: 'SYNC' }],
  ])('answers 400 INVALID_REQUEST for %s, and changes nothing', async (_, payload) => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 5 });
    const before = await couponRow(id);
    const res = await patch(id, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'INVALID_REQUEST' });
    expect(await couponRow(id)).toEqual(before);
  });

  it('answers 404 COUPON_NOT_EXIST for an unknown coupon and 400 for a bad id', async () => {
    expect((await patch(987654321, { title: 'x' })).json()).toMatchObject({ code: 'COUPON_NOT_EXIST' });
    expect((await patch('abc', { title: 'x' })).statusCode).toBe(400);
    expect((await close(987654321)).statusCode).toBe(404);
  });

  it.each(['async', 'sync'] as const)('%s: 409 QUANTITY_BELOW_ISSUED below the units taken, nothing changed; down to exactly them is fine', async (path) => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 10 });
    const issue = path === 'async' ? issueAsync : issueSync;
    for (const userId of [1, 2, 3]) expect((await issue(id, userId)).statusCode).toBeLessThan(300);
    const before = await couponRow(id);
    const rulesBefore = await readRedisRules(ctx.t.deps, id);
    const res = await patch(id, { totalQuantity: 2, title: 'should not stick' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ isSuccess: false, code: 'QUANTITY_BELOW_ISSUED' });
    expect(res.json().comment).toContain('3 units taken');
    expect(await couponRow(id)).toEqual(before);
    expect(await readRedisRules(ctx.t.deps, id)).toEqual(rulesBefore);
    expect((await patch(id, { totalQuantity: 3 })).json()).toMatchObject({ totalQuantity: 3 });
    expect((await issue(id, 4)).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_QUANTITY' });
  });

  it('409 when MySQL counts more than Redis holds (Redis lost reservations): the Redis total is put back', async () => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 10 });
    for (const userId of [1, 2, 3]) expect((await issueAsync(id, userId)).statusCode).toBe(202);
    await ctx.t.deps.db.query('UPDATE coupons SET issued_quantity = 3 WHERE id = ?', [id]); // as if persisted
    await ctx.t.deps.redis.hdel(ctx.t.deps.keys.users(id), '1', '2'); // and then lost by Redis
    const res = await patch(id, { totalQuantity: 2 });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('QUANTITY_BELOW_ISSUED');
    expect((await couponRow(id))!.total_quantity).toBe(10);
    expect((await readRedisRules(ctx.t.deps, id))?.totalQuantity).toBe(10);
  });
});

describe('POST /v1/coupons/:couponId/close', () => {
  it.each(['async', 'sync'] as const)('%s: ends the window now: later requests get INVALID_COUPON_ISSUE_DATE; what was issued stays', async (path) => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 10 });
    const issue = path === 'async' ? issueAsync : issueSync;
    expect((await issue(id, 1)).statusCode).toBeLessThan(300);
    const before = Date.now();
    const res = await close(id);
    expect(res.statusCode).toBe(200);
    const end = Date.parse(res.json().dateIssueEnd);
    expect(end).toBeGreaterThanOrEqual(before - 5);
    expect(end).toBeLessThanOrEqual(Date.now());
    if (path === 'async') expect((await readRedisRules(ctx.t.deps, id))?.dateIssueEnd.getTime()).toBe(end);
    expect((await issue(id, 2)).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_DATE' });
    expect((await issue(id, 1)).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_DATE' });
    expect((await ctx.app.inject({ url: `/v1/coupons/${id}/issues/1` })).statusCode).toBe(200);
  });

  it('is idempotent: closing again never moves the end later; a coupon not yet open ends now too', async () => {
    const id = await insertTestCoupon(ctx.t.deps, { total: 10 });
    const first = (await close(id)).json();
    await new Promise((r) => setTimeout(r, 5));
    expect((await close(id)).json().dateIssueEnd).toBe(first.dateIssueEnd);
    const future = await insertTestCoupon(ctx.t.deps, { total: 10, start: new Date(Date.now() + 3_600_000), end: new Date(Date.now() + 7_200_000) });
    const closed = (await close(future)).json();
    expect(Date.parse(closed.dateIssueEnd)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(closed.dateIssueStart)).toBeLessThan(Date.parse(closed.dateIssueEnd));
    expect((await issueAsync(future, 1)).json()).toMatchObject({ code: 'INVALID_COUPON_ISSUE_DATE' });
  });
});
