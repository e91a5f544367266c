import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from './client.js';
import { LockTimeoutError } from './redis-errors.js';
import type { Scripts } from './scripts.js';

export interface LockOptions {
  /** How long the lock lives if its owner dies without releasing it. */
  readonly leaseMs: number;
  /** How long to wait for it before giving up with a LockTimeoutError. */
  readonly waitMs: number;
}

export interface LockClient {
  readonly redis: Redis;
  readonly scripts: Pick<Scripts, 'releaseLock'>;
}

/**
 * A single-node Redis lock: SET NX PX with a random owner token, released only by its owner
 * (release-lock.lua). Waiters poll with capped exponential backoff and jitter.
 */
export async function withRedisLock<T>(client: LockClient, key: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + opts.waitMs;
  let backoff = 1;
  while ((await client.redis.set(key, token, 'PX', opts.leaseMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new LockTimeoutError(key, opts.waitMs);
    await sleep(backoff + Math.random() * backoff);
    backoff = Math.min(backoff * 2, 20);
  }
  try {
    return await fn();
  } finally {
    await client.scripts.releaseLock(key, token).catch(() => undefined); // the lease frees it if this fails
  }
}
