import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retryFailure } from '../../src/async-issue/failures/retry-failure.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { findFailureById } from '../../src/domain/issue-failure.repository.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { drainWithConsumer, waitUntil } from '../helpers/drain.js';
import { spawnCli } from '../../src/harness/service-processes.js';
import { soldOutWithCachedWinners } from '../helpers/sold-out.js';
import { createTestEnv, failuresOf, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let app: FastifyInstance;
beforeAll(async () => {
  t = await createTestEnv();
  app = await buildApp(t.deps);
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});
afterEach(async () => { await t.deps.db.query('DROP TRIGGER IF EXISTS refuse_user'); });

/** MySQL refuses this user's row for a reason of the data's own (SQLSTATE 23000), as a CHECK or a bad value would. */
async function refuseInMysql(couponId: number, userId: number): Promise<void> {
  await t.deps.db.query(`CREATE TRIGGER refuse_user BEFORE INSERT ON coupon_issues FOR EACH ROW
    IF NEW.coupon_id = ${couponId} AND NEW.user_id = ${userId} THEN SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'refused for the test'; END IF`);
}
const fixMysql = () => t.deps.db.query('DROP TRIGGER refuse_user');

const drain = (couponId: number) => drainWithConsumer(t.deps, couponId, { name: 'failures', batchSize: 100, maxAttempts: 2 });

const post = (userId: number, couponId: number) => app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId, couponId } });
const status = async (couponId: number, userId: number) => (await app.inject({ url: `/v1/coupons/${couponId}/issues/${userId}` })).json();
const rowsOf = async (couponId: number) => {
  const [rows] = (await t.deps.db.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ? ORDER BY user_id', [couponId])) as unknown as [{ user_id: number }[]];
  return rows.map((r) => Number(r.user_id));
};

/** A sold-out coupon of 5 whose user 3 MySQL refuses: drained, user 3 given up. */
async function soldOutWithOneFailure(): Promise<{ couponId: number; failureId: number; reservedAt: string }> {
  const couponId = await insertTestCoupon(t.deps, { total: 5 });
  for (let u = 1; u <= 5; u++) expect((await post(u, couponId)).statusCode).toBe(202);
  expect((await post(6, couponId)).json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
  const pending = await status(couponId, 3);
  expect(pending).toMatchObject({ status: 'PENDING' });
  await refuseInMysql(couponId, 3);
  const consumer = await drain(couponId);
  expect(consumer.stats.deadLettered).toBe(1);
  const [failure, ...more] = await failuresOf(t.deps, couponId);
  expect(more).toEqual([]);
  expect(failure).toMatchObject({
    userId: 3, reservedAt: new Date(pending.dateIssued), kind: 'REFUSED_BY_DATABASE', attempts: 2, state: 'FAILED',
    reason: 'refused for the test', unitRelease: expect.stringContaining('released'),
  });
  return { couponId, failureId: failure!.id, reservedAt: pending.dateIssued };
}

describe('an accepted issue the consumer gives up', () => {
  it('is kept in MySQL, its user reads FAILED (not PENDING forever), and its unit goes back on sale: the coupon still sells exactly its total', async () => {
    const { couponId, reservedAt } = await soldOutWithOneFailure();
    expect(await rowsOf(couponId)).toEqual([1, 2, 4, 5]);
    expect(await status(couponId, 3)).toEqual({ couponId, userId: 3, status: 'FAILED', dateIssued: reservedAt, reason: 'REFUSED_BY_DATABASE' });
    expect(await t.deps.redis.hexists(t.deps.keys.users(couponId), '3')).toBe(0);
    // The released unit sells once (the sold-out answer cached before the release is dropped within a second), then no more.
    await waitUntil('the released unit sells again', async () => (await post(7, couponId)).statusCode === 202);
    expect((await post(8, couponId)).json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
    await fixMysql();
    await drain(couponId);
    expect(await rowsOf(couponId)).toEqual([1, 2, 4, 5, 7]);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 5, distinctUsers: 5, issuedQuantity: 5, totalQuantity: 5 });
    expect(await reconcileCoupon(t.deps, couponId)).toMatchObject({ inAgreement: true, reservedNotPersisted: [], persistedNotReserved: [] });
    expect(await status(couponId, 3)).toMatchObject({ status: 'FAILED' });
  });

  it('a sold-out coupon\'s cached winners are dropped when a unit is released (the epoch is renewed), so the unit sells exactly once', async () => {
    const { couponId, reserver } = await soldOutWithCachedWinners(t.deps);
    await refuseInMysql(couponId, 2);
    await drain(couponId);
    // Until it reloads the rules (within a second) and sees the new epoch, the reserver answers from the old winners.
    let next = 100;
    await waitUntil('the released unit sells', async () => (await reserver.decide(couponId, next++)) === null);
    const after = await Promise.all(Array.from({ length: 50 }, (_, i) => reserver.decide(couponId, 1000 + i)));
    expect(after.map((r) => r?.code)).toEqual(Array(50).fill('INVALID_COUPON_ISSUE_QUANTITY'));
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(2);
    await reserver.close();
  });

  it('a user who asks again after the failure gets a new reservation: PENDING, then ISSUED; the old failure is then superseded', async () => {
    const { couponId, failureId } = await soldOutWithOneFailure();
    await fixMysql();
    // The API's cached winners may still call user 3 a duplicate for up to a second.
    await waitUntil('user 3 reserves again', async () => (await post(3, couponId)).statusCode === 202);
    expect(await status(couponId, 3)).toMatchObject({ status: 'PENDING' });
    await drain(couponId);
    expect(await status(couponId, 3)).toMatchObject({ status: 'ISSUED' });
    const r = await retryFailure(t.deps, (await findFailureById(t.deps.db, failureId))!);
    expect(r.outcome).toBe('ALREADY_ISSUED');
    expect(await findFailureById(t.deps.db, failureId)).toMatchObject({ state: 'SUPERSEDED' });
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 5, distinctUsers: 5, issuedQuantity: 5, totalQuantity: 5 });
  });
});

describe('coupon failures list / retry', () => {
  it('lists the failure; once the cause is fixed, retry re-queues it with its original time and it is issued; a second retry changes nothing', async () => {
    const { couponId, failureId, reservedAt } = await soldOutWithOneFailure();
    const list = spawnCli(['failures', 'list', '--coupon', String(couponId)], t.env);
    expect(await list.exited).toBe(0);
    expect(list.output()).toContain(`#${failureId} coupon ${couponId} user 3 reserved ${reservedAt} FAILED REFUSED_BY_DATABASE after 2 attempt(s): refused for the test`);
    expect(list.output()).toContain('1 failed issue(s)');

    await fixMysql();
    const retry = spawnCli(['failures', 'retry', String(failureId)], t.env);
    expect(await retry.exited).toBe(0);
    expect(retry.output()).toContain('REQUEUED');
    expect(await status(couponId, 3)).toMatchObject({ status: 'PENDING', dateIssued: reservedAt });
    await drain(couponId);
    expect(await status(couponId, 3)).toEqual({ couponId, userId: 3, status: 'ISSUED', dateIssued: reservedAt });
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 5, distinctUsers: 5, issuedQuantity: 5, totalQuantity: 5 });

    const again = spawnCli(['failures', 'retry', String(failureId)], t.env);
    expect(await again.exited).toBe(0);
    expect(again.output()).toContain('NOT_OPEN');
    const empty = spawnCli(['failures', 'list', '--coupon', String(couponId)], t.env);
    expect(await empty.exited).toBe(0);
    expect(empty.output()).toContain('0 failed issue(s)');
  });

  it('is idempotent through the unique key: the same failure re-queued twice at once is issued once', async () => {
    const { couponId, failureId } = await soldOutWithOneFailure();
    await fixMysql();
    const failure = (await findFailureById(t.deps.db, failureId))!;
    const both = await Promise.all([retryFailure(t.deps, failure), retryFailure(t.deps, failure)]);
    expect(both.map((r) => r.outcome)).toEqual(['REQUEUED', 'REQUEUED']);
    expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(2);
    await drain(couponId);
    expect(await rowsOf(couponId)).toEqual([1, 2, 3, 4, 5]);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 5, distinctUsers: 5, issuedQuantity: 5, totalQuantity: 5 });
  });

  it('says so, and re-queues nothing, when the released unit was sold to someone else meanwhile (never over-issues)', async () => {
    const { couponId, failureId } = await soldOutWithOneFailure();
    await fixMysql();
    await waitUntil('the released unit sells again', async () => (await post(9, couponId)).statusCode === 202);
    const retry = spawnCli(['failures', 'retry', '--all', '--coupon', String(couponId)], t.env);
    expect(await retry.exited).toBe(1);
    expect(retry.output()).toContain('SOLD_OUT');
    expect(retry.output()).toContain('0 of 1 settled');
    expect(await findFailureById(t.deps.db, failureId)).toMatchObject({ state: 'FAILED' });
    await drain(couponId);
    expect(await rowsOf(couponId)).toEqual([1, 2, 4, 5, 9]);
    expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 5, distinctUsers: 5, issuedQuantity: 5, totalQuantity: 5 });
  });

  it('retry needs one id or --all', async () => {
    const p = spawnCli(['failures', 'retry'], t.env);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('give one failure id, or --all');
  });
});
