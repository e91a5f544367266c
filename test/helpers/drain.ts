import { setTimeout as sleep } from 'node:timers/promises';
import { PersistConsumer, type ConsumerOptions } from '../../src/async-issue/consumer/persist-consumer.js';
import type { Deps } from '../../src/deps.js';

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
