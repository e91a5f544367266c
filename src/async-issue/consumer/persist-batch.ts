import { withTransaction, type Pool } from '../../adapters/mysql/pool.js';
import * as repo from '../../domain/coupon.repository.js';
import type { ReservationEntry } from '../stream/reservation-entry.js';

export function groupByCoupon<T extends { couponId: number }>(entries: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const e of entries) {
    const group = groups.get(e.couponId);
    if (group) group.push(e);
    else groups.set(e.couponId, [e]);
  }
  return groups;
}

/**
 * Writes a batch (of any coupons) in one transaction: a multi-row INSERT per coupon that skips rows
 * already there (so a replay is harmless), and each coupon's count in step. Returns the new rows.
 */
export async function persistBatch(db: Pool, entries: readonly ReservationEntry[]): Promise<number> {
  const byCoupon = groupByCoupon(entries);
  return withTransaction(db, async (tx) => {
    let inserted = 0;
    const now = new Date();
    for (const [couponId, list] of byCoupon) {
      const n = await repo.insertCouponIssuesIgnoringDuplicates(tx, couponId, list.map((e) => ({ userId: e.userId, dateIssued: e.reservedAt })));
      // The CHECK on coupons refuses a count above the total: MySQL's own guard if Redis ever over-reserved.
      await repo.addIssuedQuantity(tx, couponId, n, now);
      inserted += n;
    }
    return inserted;
  });
}
