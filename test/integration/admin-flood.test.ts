import { describe, expect, it } from 'vitest';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { drainWithConsumer, waitUntil } from '../helpers/drain.js';
import { countOutcomes, floodWhile, type IssueRequestBody, type TimedAnswer } from '../../src/harness/flood.js';
import { startHttpProcess, type ServiceProcess } from '../../src/harness/service-processes.js';
import { useTestApp } from '../helpers/test-app.js';
import { insertTestCoupon } from '../helpers/test-env.js';

const ctx = useTestApp({ LOG_LEVEL: 'warn' });

type Path = 'async' | 'sync';
const endpoint = (path: Path) => (path === 'async' ? '/v1/issue-async' : '/v1/issue');
const accepted = (path: Path) => (path === 'async' ? '202' : '200');

/** Users from..to, each asking once, in order. */
function users(couponId: number, from: number, to: number): () => IssueRequestBody | undefined {
  let next = from;
  return () => (next <= to ? { couponId, userId: next++ } : undefined);
}

/** Units taken so far: reservations for an async coupon, issued_quantity for a sync one. */
async function taken(path: Path, couponId: number): Promise<number> {
  if (path === 'async') return ctx.t.deps.redis.hlen(ctx.t.deps.keys.users(couponId));
  return (await countIssues(ctx.t.deps.db, couponId)).issuedQuantity ?? 0;
}

const adminCall = async (method: 'PATCH' | 'POST', path: string, body?: unknown) => {
  const res = await fetch(`${ctx.url}${path}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, answeredAt: Date.now() };
};

async function drain(couponId: number): Promise<void> {
  await drainWithConsumer(ctx.t.deps, couponId, { name: `drain-${couponId}`, batchSize: 500, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 });
}

/** After the drain, MySQL holds exactly `n` issues and its count and total agree; the async path's Redis agrees too. */
async function expectExactly(path: Path, couponId: number, n: number, total: number | null): Promise<void> {
  if (path === 'async') {
    expect(await ctx.t.deps.redis.hlen(ctx.t.deps.keys.users(couponId))).toBe(n);
    await drain(couponId);
    expect(await reconcileCoupon(ctx.t.deps, couponId)).toMatchObject({ inAgreement: true });
  }
  expect(await countIssues(ctx.t.deps.db, couponId)).toEqual({ rows: n, distinctUsers: n, issuedQuantity: n, totalQuantity: total });
}

/**
 * Floods `baseUrls` with distinct users and, once `startAt` units are taken, lowers the total to a
 * little above what is taken at that moment (again if the flood overtook it: 409). Returns the new
 * total and the answers.
 */
async function lowerMidFlood(path: Path, baseUrls: string[], couponId: number, userCount: number, startAt: number, margin: number) {
  let floodDone = false;
  const flood = floodWhile(baseUrls, endpoint(path), users(couponId, 1, userCount), 32).finally(() => { floodDone = true; });
  await waitUntil(`${startAt} taken`, async () => (await taken(path, couponId)) >= startAt, 60_000);
  let newTotal: number | undefined;
  const refusals: Record<string, unknown>[] = [];
  while (newTotal === undefined && !floodDone) {
    const target = (await taken(path, couponId)) + margin;
    const res = await adminCall('PATCH', `/v1/coupons/${couponId}`, { totalQuantity: target });
    if (res.status === 200) newTotal = target;
    else refusals.push(res.json);
  }
  for (const r of refusals) expect(r).toMatchObject({ code: 'QUANTITY_BELOW_ISSUED' });
  const answers = await flood;
  if (newTotal === undefined) throw new Error('the flood ended before a PATCH could land; make it longer');
  return { newTotal, answers };
}

function expectOnly(answers: TimedAnswer[], allowed: string[]): void {
  expect(Object.keys(countOutcomes(answers)).filter((k) => !allowed.includes(k))).toEqual([]);
}

describe('PATCH lowering the total in the middle of a flood', () => {
  it('async, two API processes: never more than the new total, exactly the new total in the end', async () => {
    const procs: ServiceProcess[] = [];
    try {
      const apis = await Promise.all([0, 1].map(() => startHttpProcess(ctx.t.env)));
      procs.push(...apis);
      const couponId = await insertTestCoupon(ctx.t.deps, { total: 8000 });
      const { newTotal, answers } = await lowerMidFlood('async', apis.map((a) => a.url), couponId, 6000, 300, 600);
      expect(newTotal).toBeLessThan(6000); // the flood asked for more than the new total
      expectOnly(answers, ['202', '409 INVALID_COUPON_ISSUE_QUANTITY']);
      expect(countOutcomes(answers)['202']).toBe(newTotal);
      await expectExactly('async', couponId, newTotal, newTotal);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });

  it('sync (mysql-atomic): never more than the new total, exactly the new total in the end', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 3000 });
    const { newTotal, answers } = await lowerMidFlood('sync', [ctx.url], couponId, 1500, 100, 150);
    expect(newTotal).toBeLessThan(1500);
    expectOnly(answers, ['200', '409 INVALID_COUPON_ISSUE_QUANTITY']);
    expect(countOutcomes(answers)['200']).toBe(newTotal);
    await expectExactly('sync', couponId, newTotal, newTotal);
  });
});

describe.each(['async', 'sync'] as const)('%s: raising the total after the sell-out', (path) => {
  it('issues more, up to exactly the new total', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 50 });
    const first = await floodWhile([ctx.url], endpoint(path), users(couponId, 1, 200), 32);
    expect(countOutcomes(first)[accepted(path)]).toBe(50);
    const raised = await adminCall('PATCH', `/v1/coupons/${couponId}`, { totalQuantity: 120 });
    expect(raised.status).toBe(200);
    // Every API process applies a change within a second (the async rules cache): ask until one is taken.
    let probe = 1000;
    await waitUntil('a unit issued after the raise', async () => {
      const res = await ctx.app.inject({ method: 'POST', url: endpoint(path), payload: { couponId, userId: probe++ } });
      return res.statusCode < 300;
    }, 10_000);
    const second = await floodWhile([ctx.url], endpoint(path), users(couponId, 2001, 2300), 32);
    expectOnly(second, [accepted(path), '409 INVALID_COUPON_ISSUE_QUANTITY']);
    expect(countOutcomes(second)[accepted(path)]).toBe(120 - 50 - 1);
    await expectExactly(path, couponId, 120, 120);
  });
});

describe.each(['async', 'sync'] as const)('%s: closing in the middle of a flood', (path) => {
  it('accepts nothing sent after the close answered, refuses with INVALID_COUPON_ISSUE_DATE a second later, persists what it accepted', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: null });
    let closedAt = Infinity;
    const stopAfterClose = users(couponId, 1, 1_000_000);
    const flood = floodWhile([ctx.url], endpoint(path), () => (Date.now() - closedAt > 1500 ? undefined : stopAfterClose()), 32);
    await waitUntil('200 taken', async () => (await taken(path, couponId)) >= 200, 60_000);
    const res = await adminCall('POST', `/v1/coupons/${couponId}/close`);
    expect(res.status).toBe(200);
    closedAt = res.answeredAt;
    const answers = await flood;
    const after = answers.filter((a) => a.sentAt >= closedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((a) => a.outcome === accepted(path))).toEqual([]);
    const secondLater = after.filter((a) => a.sentAt >= closedAt + 1000);
    expect(secondLater.length).toBeGreaterThan(0);
    expect(Object.keys(countOutcomes(secondLater))).toEqual(['409 INVALID_COUPON_ISSUE_DATE']);
    const n = countOutcomes(answers)[accepted(path)]!;
    expect(n).toBeGreaterThanOrEqual(200);
    await expectExactly(path, couponId, n, null);
  });
});
