import { CouponSoldOutError, IssueWindowClosedError } from '../errors.js';

export const CouponType = { FIRST_COME_FIRST_SERVED: 'FIRST_COME_FIRST_SERVED' } as const;
export type CouponType = (typeof CouponType)[keyof typeof CouponType];

export interface Coupon {
  readonly id: number;
  readonly title: string;
  readonly couponType: CouponType;
  /** null means unlimited. */
  readonly totalQuantity: number | null;
  readonly issuedQuantity: number;
  readonly discountAmount: number;
  readonly minAvailableAmount: number;
  readonly dateIssueStart: Date;
  readonly dateIssueEnd: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CouponIssue {
  readonly id: number;
  readonly couponId: number;
  readonly userId: number;
  readonly dateIssued: Date;
  readonly dateUsed: Date | null;
}

/** The part of a coupon that decides issuance; small enough to cache and to mirror in Redis. */
export type IssueRules = Pick<Coupon, 'id' | 'totalQuantity' | 'dateIssueStart' | 'dateIssueEnd'>;

export function isQuantityAvailable(coupon: Pick<Coupon, 'totalQuantity' | 'issuedQuantity'>): boolean {
  return coupon.totalQuantity === null || coupon.issuedQuantity < coupon.totalQuantity;
}

/** Start inclusive, end exclusive: at exactly dateIssueEnd the event is over. */
export function isWithinIssueWindow(coupon: Pick<Coupon, 'dateIssueStart' | 'dateIssueEnd'>, now: Date): boolean {
  const t = now.getTime();
  return coupon.dateIssueStart.getTime() <= t && t < coupon.dateIssueEnd.getTime();
}

export function assertWithinIssueWindow(coupon: IssueRules, now: Date): void {
  if (!isWithinIssueWindow(coupon, now)) throw new IssueWindowClosedError(coupon.id);
}

/**
 * Takes one unit. The duplicate check happens between the window and the quantity checks
 * (see issue order in the README), so callers check duplicates before calling this.
 */
export function issue(coupon: Coupon, now: Date): Coupon {
  assertWithinIssueWindow(coupon, now);
  if (!isQuantityAvailable(coupon)) throw new CouponSoldOutError(coupon.id);
  return { ...coupon, issuedQuantity: coupon.issuedQuantity + 1, updatedAt: now };
}
