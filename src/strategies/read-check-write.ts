import { withTransaction, isDuplicateKeyError, type Pool } from '../db/pool.js';
import { issue } from '../coupons/coupon.js';
import * as repo from '../coupons/coupon.repository.js';
import { CouponNotExistError, DuplicatedIssueError, IssueWindowClosedError } from '../errors.js';
import { isWithinIssueWindow } from '../coupons/coupon.js';

/**
 * The origin's service method: read the coupon, apply the domain's issue(), write both rows back.
 * Correct only when something serialises callers per coupon: the row lock (lockRow), or a lock
 * the caller holds around it. Without one it is the race the `none` strategy demonstrates.
 */
export async function readCheckWrite(db: Pool, couponId: number, userId: number, now: Date, lockRow: boolean): Promise<void> {
  await withTransaction(db, async (tx) => {
    const coupon = lockRow ? await repo.lockCouponById(tx, couponId) : await repo.findCouponById(tx, couponId);
    if (!coupon) throw new CouponNotExistError(couponId);
    if (!isWithinIssueWindow(coupon, now)) throw new IssueWindowClosedError(couponId);
    if (await repo.existsCouponIssue(tx, couponId, userId)) throw new DuplicatedIssueError(couponId, userId);
    const issued = issue(coupon, now);
    try {
      await repo.insertCouponIssue(tx, couponId, userId, now);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new DuplicatedIssueError(couponId, userId);
      throw err;
    }
    await repo.saveIssuedQuantity(tx, issued);
  });
}
