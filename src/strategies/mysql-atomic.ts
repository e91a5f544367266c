import { withTransaction, isDuplicateKeyError } from '../db/pool.js';
import { assertWithinIssueWindow } from '../coupons/coupon.js';
import * as repo from '../coupons/coupon.repository.js';
import { CouponNotExistError, CouponSoldOutError, DuplicatedIssueError } from '../errors.js';
import type { IssueStrategy, StrategyDeps } from './strategy.js';

/**
 * No read-then-write: the INSERT lets the unique key reject a duplicate, then one conditional
 * UPDATE takes a unit only while stock remains. The UPDATE comes last so the hot row is locked
 * only from it to the commit.
 */
export function createMysqlAtomicStrategy(deps: StrategyDeps): IssueStrategy {
  return {
    name: 'mysql-atomic',
    async issue(couponId, userId) {
      const now = deps.now();
      const coupon = await repo.findCouponById(deps.db, couponId);
      if (!coupon) throw new CouponNotExistError(couponId);
      assertWithinIssueWindow(coupon, now);
      await withTransaction(deps.db, async (tx) => {
        try {
          await repo.insertCouponIssue(tx, couponId, userId, now);
        } catch (err) {
          if (isDuplicateKeyError(err)) throw new DuplicatedIssueError(couponId, userId);
          throw err;
        }
        if (!(await repo.incrementIssuedIfAvailable(tx, couponId, now))) throw new CouponSoldOutError(couponId);
      });
    },
  };
}
