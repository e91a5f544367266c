import { isDataError, isDuplicateKeyError } from '../adapters/mysql/mysql-errors.js';
import { withTransaction, type Pool, type PoolConnection } from '../adapters/mysql/pool.js';
import { assertIssueMode, IssueMode, issue, isWithinIssueWindow, type Coupon } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import { CouponNotExistError, CouponSoldOutError, DuplicatedIssueError, IssueModeMismatchError, IssueWindowClosedError, UnavailableError } from '../errors.js';

export interface ReadCheckWriteOptions {
  /** Read the coupon with SELECT ... FOR UPDATE (the mysql-lock strategy). */
  readonly lockRow: boolean;
  /**
   * Write the count only if it is still the one read: a holder whose lock lease expired mid-write
   * (redis-lock) then fails instead of over-issuing. Off for the strategies that demonstrate the race.
   */
  readonly fenced: boolean;
}

/**
 * Writes the computed count back. An admin who lowered the total between our read and this write
 * makes MySQL's CHECK (issued <= total) refuse it: the stock ran out under us, so that is "sold out".
 */
async function saveCount(tx: PoolConnection, issued: Coupon, expectedIssued: number | undefined): Promise<boolean> {
  try {
    return await repo.saveIssuedQuantity(tx, issued, expectedIssued);
  } catch (err) {
    if (isDataError(err)) throw new CouponSoldOutError(issued.id);
    throw err;
  }
}

/**
 * The origin's service method: read the coupon, apply the domain's issue(), write both rows back.
 * Correct only when something serialises callers per coupon: the row lock, or a lock the caller
 * holds around it. Without one it is the race the `none` strategy demonstrates.
 */
export async function readCheckWrite(db: Pool, couponId: number, userId: number, now: Date, opts: ReadCheckWriteOptions): Promise<void> {
  await withTransaction(db, async (tx) => {
    const coupon = opts.lockRow ? await repo.lockCouponById(tx, couponId) : await repo.findCouponById(tx, couponId);
    if (!coupon) throw new CouponNotExistError(couponId);
    assertIssueMode(coupon, IssueMode.SYNC);
    if (!isWithinIssueWindow(coupon, now)) throw new IssueWindowClosedError(couponId);
    if (await repo.existsCouponIssue(tx, couponId, userId)) throw new DuplicatedIssueError(couponId, userId);
    const issued = issue(coupon, now);
    try {
      await repo.insertCouponIssue(tx, couponId, userId, now);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new DuplicatedIssueError(couponId, userId);
      throw err;
    }
    if (!(await saveCount(tx, issued, opts.fenced ? coupon.issuedQuantity : undefined))) {
      // Nothing written: the async path took the coupon meanwhile, or (fenced) the count moved under us.
      // Read on this connection: the pool may have none left while we hold the row lock.
      const current = await repo.lockCouponById(tx, couponId);
      if (current?.issueMode === IssueMode.ASYNC) throw new IssueModeMismatchError(couponId, IssueMode.ASYNC);
      throw new UnavailableError(`coupon ${couponId} changed while this request held an expired lock; try again`);
    }
  });
}
