import { expect } from 'vitest';
import { CONSUMER_GROUP } from '../../src/adapters/redis/keys.js';
import { createReserver } from '../../src/async-issue/reserver.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { spawnCli } from '../../src/harness/service-processes.js';
import { waitUntil } from './drain.js';
import { insertTestCoupon, type TestEnv } from './test-env.js';

/** A sold-out coupon whose `total` reservations all wait in the stream: a drain long enough to interrupt. */
export async function reservedCoupon(t: TestEnv, total: number): Promise<number> {
  const couponId = await insertTestCoupon(t.deps, { total });
  const reserver = createReserver(t.deps);
  try {
    for (let from = 1; from <= total; from += 2000) {
      await Promise.all(Array.from({ length: Math.min(2000, total - from + 1) }, (_, i) => reserver.reserve(couponId, from + i)));
    }
  } finally {
    await reserver.close();
  }
  expect(await t.deps.redis.xlen(t.deps.keys.stream(couponId))).toBe(total);
  return couponId;
}

export const rowsOf = async (t: TestEnv, couponId: number): Promise<number> => (await countIssues(t.deps.db, couponId)).rows;

/**
 * Starts a consumer process and, once it has persisted some rows, kills it with SIGKILL while it holds
 * entries it read but did not acknowledge: frozen with SIGSTOP, inspected, killed only then (or let go
 * on for a few ms and caught again), so the recovery under test always has something to recover.
 * Returns the rows persisted at the kill.
 */
export async function killMidDrain(t: TestEnv, couponId: number, total: number, env: Record<string, string>): Promise<number> {
  const name = env.CONSUMER_NAME!;
  const first = spawnCli(['consumer'], { ...t.env, CONSUMER_BATCH_SIZE: '100', ...env });
  await waitUntil('first rows persisted', async () => (await rowsOf(t, couponId)) >= 1000, 30_000);
  for (let attempt = 0; ; attempt++) {
    first.child.kill('SIGSTOP');
    const held = (await t.deps.redis.xpending(t.deps.keys.stream(couponId), CONSUMER_GROUP, '-', '+', 1000, name));
    if (held.length > 0) break;
    if (attempt === 100) throw new Error('never caught the consumer holding entries');
    first.child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 3));
  }
  first.child.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');
  const atKill = await rowsOf(t, couponId);
  expect(atKill).toBeLessThan(total); // truly mid-drain, or the test proves nothing
  return atKill;
}
