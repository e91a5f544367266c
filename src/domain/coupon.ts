import { CouponSoldOutError, InvalidRequestError, IssueModeMismatchError, IssueWindowClosedError } from '../errors.js';

export const CouponType = { FIRST_COME_FIRST_SERVED: 'FIRST_COME_FIRST_SERVED' } as const;
export type CouponType = (typeof CouponType)[keyof typeof CouponType];

/**
 * The two paths count stock in different places (MySQL's issued_quantity, Redis's reservations),
 * so a coupon is bound to the path that issues it first and the other path refuses it.
 */
export const IssueMode = { SYNC: 'SYNC', ASYNC: 'ASYNC' } as const;
export type IssueMode = (typeof IssueMode)[keyof typeof IssueMode];

/** A coupon's opt-in waiting room (issue #13): how long an admitted ticket may claim, how early joins open. */
export interface WaitingRoomSettings {
  readonly admissionTtlSeconds: number;
  readonly preQueueSeconds: number;
}

export interface Coupon {
  readonly id: number;
  readonly title: string;
  readonly couponType: CouponType;
  /** null until the first issue binds it. */
  readonly issueMode: IssueMode | null;
  /** null means unlimited. */
  readonly totalQuantity: number | null;
  readonly issuedQuantity: number;
  readonly discountAmount: number;
  readonly minAvailableAmount: number;
  readonly dateIssueStart: Date;
  readonly dateIssueEnd: Date;
  /** null: no waiting room, anyone may claim as before. */
  readonly waitingRoom: WaitingRoomSettings | null;
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
export type IssueRules = Pick<Coupon, 'id' | 'issueMode' | 'totalQuantity' | 'dateIssueStart' | 'dateIssueEnd'>;

/** Same stock and window: the terms that decide issuance (the path it is bound to aside). */
export function sameIssueTerms(a: IssueRules, b: IssueRules): boolean {
  return a.totalQuantity === b.totalQuantity
    && a.dateIssueStart.getTime() === b.dateIssueStart.getTime()
    && a.dateIssueEnd.getTime() === b.dateIssueEnd.getTime();
}

export function isQuantityAvailable(coupon: Pick<Coupon, 'totalQuantity' | 'issuedQuantity'>): boolean {
  return coupon.totalQuantity === null || coupon.issuedQuantity < coupon.totalQuantity;
}

/** Start inclusive, end exclusive: at exactly dateIssueEnd the event is over. */
export function isWithinIssueWindow(coupon: Pick<Coupon, 'dateIssueStart' | 'dateIssueEnd'>, now: Date): boolean {
  const t = now.getTime();
  return coupon.dateIssueStart.getTime() <= t && t < coupon.dateIssueEnd.getTime();
}

export function assertIssueMode(coupon: Pick<Coupon, 'id' | 'issueMode'>, mode: IssueMode): void {
  if (coupon.issueMode !== null && coupon.issueMode !== mode) throw new IssueModeMismatchError(coupon.id, coupon.issueMode);
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

/** What an admin may change after creation; absent fields keep their value. */
export type CouponChange = Partial<Pick<Coupon,
  'title' | 'totalQuantity' | 'discountAmount' | 'minAvailableAmount' | 'dateIssueStart' | 'dateIssueEnd' | 'waitingRoom'>>;

/** The coupon with the change applied, its window checked as at creation (the end after the start). */
export function applyChange(coupon: Coupon, change: CouponChange): Coupon {
  const next: Coupon = { ...coupon, ...change };
  if (next.dateIssueEnd <= next.dateIssueStart) throw new InvalidRequestError('dateIssueEnd must be after dateIssueStart');
  return next;
}

/**
 * Closing ends the window now (start inclusive, end exclusive: nothing issues from now on). A window
 * already over keeps its end, so closing never reopens anything; one not yet open is moved to end
 * now as well, its start just before (the end must follow the start).
 */
export function closedChange(coupon: Coupon, now: Date): CouponChange {
  const end = coupon.dateIssueEnd < now ? coupon.dateIssueEnd : now;
  const start = coupon.dateIssueStart < end ? coupon.dateIssueStart : new Date(end.getTime() - 1);
  return { dateIssueStart: start, dateIssueEnd: end };
}

/** True when the change lets more units out than before (a higher total, or none). */
export function raisesTotal(before: number | null, after: number | null): boolean {
  if (before === null) return false;
  return after === null || after > before;
}
