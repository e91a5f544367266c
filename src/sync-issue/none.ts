import type { IssueStrategy, StrategyDeps } from './strategy.js';
import { readCheckWrite } from './read-check-write.js';

/** No lock at all: concurrent readers see the same count and all pass the check. Demonstration only. */
export function createNoLockStrategy(deps: StrategyDeps): IssueStrategy {
  return {
    name: 'none',
    issue: (couponId, userId) => readCheckWrite(deps.db, couponId, userId, deps.now(), { lockRow: false, fenced: false }),
  };
}
