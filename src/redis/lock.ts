import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../errors.js';
import type { ScriptedRedis } from './scripts.js';

export interface LockOptions {
  /** How long the lock lives if its owner dies without releasing it. */
  readonly leaseMs: number;
  /** How long to wait for it before giving up with UNAVAILABLE. */
  readonly waitMs: number;
}

/**
 * A single-node Redis lock: SET NX PX with a random owner token, released only by its owner
 * (release-lock.lua). Waiters poll with capped exponential backoff and jitter.
 */
export async function withRedisLock<T>(redis: ScriptedRedis, key: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + opts.waitMs;
  let backoff = 1;
  while ((await redis.set(key, token, 'PX', opts.leaseMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new UnavailableError(`lock ${key} not acquired within ${opts.waitMs} ms`);
    await sleep(backoff + Math.random() * backoff);
    backoff = Math.min(backoff * 2, 20);
  }
  try {
    return await fn();
  } finally {
    await redis.releaseLock(key, token).catch(() => undefined); // the lease frees it if this fails
  }
}
