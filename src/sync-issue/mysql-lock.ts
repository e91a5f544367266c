import type { IssueStrategy, StrategyDeps } from './strategy.js';
import { readCheckWrite } from './read-check-write.js';

/** SELECT ... FOR UPDATE on the coupon row: exact across processes, serialised on one hot row. */
export function createMysqlLockStrategy(deps: StrategyDeps): IssueStrategy {
  return {
    name: 'mysql-lock',
    issue: (couponId, userId) => readCheckWrite(deps.db, couponId, userId, deps.now(), { lockRow: true, fenced: false }),
  };
}
