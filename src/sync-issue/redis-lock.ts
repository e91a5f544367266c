import { withRedisLock, type LockOptions } from '../adapters/redis/lock.js';
import type { IssueStrategy, StrategyDeps } from './strategy.js';
import { KeyedMutex } from './keyed-mutex.js';
import { readCheckWrite } from './read-check-write.js';

const DEFAULT_LOCK: LockOptions = { leaseMs: 10_000, waitMs: 10_000 };

/**
 * A distributed lock per coupon around the read-check-write. Requests of one process first queue
 * on a local mutex, so each process has at most one waiter polling Redis instead of hundreds.
 */
export function createRedisLockStrategy(deps: StrategyDeps, lock: LockOptions = DEFAULT_LOCK): IssueStrategy {
  const local = new KeyedMutex<number>();
  return {
    name: 'redis-lock',
    issue: (couponId, userId) =>
      local.runExclusive(couponId, () =>
        withRedisLock(deps, deps.keys.issueLock(couponId), lock, () =>
          readCheckWrite(deps.db, couponId, userId, deps.now(), { lockRow: false, fenced: true }))),
  };
}
