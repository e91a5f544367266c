import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { CONSUMER_GROUP } from '../../src/adapters/redis/keys.js';
import { PersistConsumer, type ConsumerOptions } from '../../src/async-issue/consumer/persist-consumer.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import type { Deps } from '../../src/deps.js';
import { failuresOf } from './test-env.js';

/** Waits until a coupon's stream is empty: acknowledged entries are deleted, so empty means all persisted. */
export async function waitForDrain(deps: Deps, couponId: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await deps.redis.xlen(deps.keys.stream(couponId))) > 0) {
    if (Date.now() > deadline) throw new Error(`stream of coupon ${couponId} not drained within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Runs an in-process consumer until the coupon's stream is empty, then stops it; returns it for its stats. */
export async function drainWithConsumer(deps: Deps, couponId: number, opts: Partial<ConsumerOptions> = {}): Promise<PersistConsumer> {
  const consumer = new PersistConsumer(deps, { name: 'drain', batchSize: 500, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5, ...opts });
  const running = consumer.run();
  try {
    await waitForDrain(deps, couponId);
  } finally {
    consumer.stop();
    await running;
  }
  return consumer;
}

/**
 * A coupon sold `total` units to `total` users, all persisted: one row each, the count in step, Redis
 * holding the same users with nothing queued or pending, reconcile in agreement, no failed issue.
 */
export async function expectDrainedExactly(deps: Deps, couponId: number, total: number): Promise<void> {
  expect(await countIssues(deps.db, couponId)).toEqual({ rows: total, distinctUsers: total, issuedQuantity: total, totalQuantity: total });
  expect(await deps.redis.hlen(deps.keys.users(couponId))).toBe(total);
  expect(await deps.redis.xlen(deps.keys.stream(couponId))).toBe(0);
  const pending = (await deps.redis.xpending(deps.keys.stream(couponId), CONSUMER_GROUP)) as [number, ...unknown[]];
  expect(Number(pending[0])).toBe(0);
  expect(await reconcileCoupon(deps, couponId)).toMatchObject({ inAgreement: true, reservedNotPersisted: [], persistedNotReserved: [] });
  expect(await failuresOf(deps, couponId)).toEqual([]);
}
