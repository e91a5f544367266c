import { isDuplicateKeyError } from '../adapters/mysql/mysql-errors.js';
import { withTransaction } from '../adapters/mysql/pool.js';
import { assertIssueMode, assertWithinIssueWindow, IssueMode, isQuantityAvailable } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
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
      assertIssueMode(coupon, IssueMode.SYNC);
      assertWithinIssueWindow(coupon, now);
      if (!isQuantityAvailable(coupon)) {
        // The count never goes down and a raised total is seen by the next read, so this plain read
        // settles it without queueing on the hot row: the rejection flood after the sell-out costs one
        // indexed SELECT.
        if (await repo.existsCouponIssue(deps.db, couponId, userId)) throw new DuplicatedIssueError(couponId, userId);
        throw new CouponSoldOutError(couponId);
      }
      await withTransaction(deps.db, async (tx) => {
        try {
          await repo.insertCouponIssue(tx, couponId, userId, now);
        } catch (err) {
          if (isDuplicateKeyError(err)) throw new DuplicatedIssueError(couponId, userId);
          throw err;
        }
        if (!(await repo.incrementIssuedIfAvailable(tx, couponId, now))) {
          // Sold out, unless the async path took the coupon since our read. Read on this connection:
          // the failed UPDATE still holds the row lock, and the pool may have no other to give.
          const current = await repo.lockCouponById(tx, couponId);
          if (current) assertIssueMode(current, IssueMode.SYNC);
          throw new CouponSoldOutError(couponId);
        }
      });
    },
  };
}
