import { CouponNotExistError, QuantityBelowIssuedError } from '../errors.js';
import { applyChange, closedChange, raisesTotal, sameIssueTerms, type Coupon, type CouponChange } from './coupon.js';
import * as repo from './coupon.repository.js';
import type { CouponServiceDeps } from './coupon.service.js';

export interface CouponPage {
  readonly items: Coupon[];
  /** Pass back as `after` for the next page; null on the last one. */
  readonly next: string | null;
}

/** Newest first; the cursor is the last id returned (ids only grow, so pages never shift under a reader). */
export async function listCoupons(deps: Pick<CouponServiceDeps, 'db'>, limit: number, after: number | null): Promise<CouponPage> {
  const rows = await repo.listCouponsNewestFirst(deps.db, limit + 1, after);
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? String(items.at(-1)!.id) : null };
}

export function updateCoupon(deps: CouponServiceDeps, couponId: number, change: CouponChange): Promise<Coupon> {
  return changeCoupon(deps, couponId, () => change);
}

/** Ends the window now on both paths; what was accepted before stays and is persisted. */
export function closeCoupon(deps: CouponServiceDeps, couponId: number): Promise<Coupon> {
  return changeCoupon(deps, couponId, (current) => closedChange(current, deps.now()));
}

/**
 * Applies an admin change to MySQL (the record, whose CHECK guards the rows the consumer writes) and
 * to Redis (the gate of the async path), each write conditional on the units already taken there.
 *
 * Order: an async acceptance must always fit under both the gate and the guard. So a change that
 * raises the total opens the guard first (MySQL, then Redis), and every other change closes the gate
 * first (Redis, then MySQL). A crash or an outage between the two writes then leaves Redis the
 * stricter of the two: it refuses more than it should until the change is retried (or `coupon
 * reconcile --repair` republishes MySQL's terms), but never accepts a unit that MySQL would refuse
 * to persist, and never one beyond the new total.
 */
async function changeCoupon(deps: CouponServiceDeps, couponId: number, decide: (current: Coupon) => CouponChange): Promise<Coupon> {
  return deps.reservations.whileRebuildHeld(couponId, async () => {
    const current = await repo.findCouponById(deps.db, couponId);
    if (!current) throw new CouponNotExistError(couponId);
    const next = applyChange(current, decide(current));
    const gateChanges = !sameIssueTerms(current, next);
    const toRedis = async () => {
      if (!gateChanges) return;
      const r = await deps.reservations.changeTerms(next);
      if (r.outcome === 'BELOW_RESERVED') throw new QuantityBelowIssuedError(couponId, next.totalQuantity ?? 0, r.taken);
    };
    const toMysql = async () => {
      if (await repo.updateCouponTerms(deps.db, next, deps.now())) return;
      // MySQL has issued more than the new total (the sync path, or rows Redis has lost): undo the
      // gate's change, which only widens it back to what MySQL still holds.
      if (gateChanges) {
        await deps.reservations.changeTerms(current).catch((err: unknown) =>
          deps.log.warn({ couponId, err: (err as Error).message }, 'redis kept the refused lower total; run coupon reconcile --repair'));
      }
      const latest = await repo.findCouponById(deps.db, couponId);
      throw new QuantityBelowIssuedError(couponId, next.totalQuantity ?? 0, latest?.issuedQuantity ?? 0);
    };
    if (raisesTotal(current.totalQuantity, next.totalQuantity)) {
      await toMysql();
      await toRedis();
    } else {
      await toRedis();
      await toMysql();
    }
    const updated = await repo.findCouponById(deps.db, couponId);
    if (!updated) throw new CouponNotExistError(couponId);
    return updated;
  });
}
