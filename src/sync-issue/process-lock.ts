import type { IssueStrategy, StrategyDeps } from './strategy.js';
import { KeyedMutex } from './keyed-mutex.js';
import { readCheckWrite } from './read-check-write.js';

/**
 * Java's `synchronized` in Node: an in-process mutex per coupon. Exact in one process;
 * two processes each hold their own mutex and over-issue together.
 */
export function createProcessLockStrategy(deps: StrategyDeps): IssueStrategy {
  const locks = new KeyedMutex<number>();
  return {
    name: 'process-lock',
    issue: (couponId, userId) =>
      locks.runExclusive(couponId, () => readCheckWrite(deps.db, couponId, userId, deps.now(), { lockRow: false, fenced: false })),
  };
}
