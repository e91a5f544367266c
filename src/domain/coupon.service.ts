import type { Logger } from 'pino';
import { CouponIssueNotExistError, CouponNotExistError } from '../errors.js';
import type { Coupon, IssueRules } from './coupon.js';
import * as repo from './coupon.repository.js';
import type { FailureKind } from './issue-failure.js';
import * as failures from './issue-failure.repository.js';

export type NewCouponInput = repo.NewCoupon;

export type IssueStatus =
  | { readonly couponId: number; readonly userId: number; readonly status: 'ISSUED'; readonly dateIssued: Date }
  | { readonly couponId: number; readonly userId: number; readonly status: 'PENDING'; readonly dateIssued: Date }
  /** Accepted, then given up by the consumer (kept in coupon_issue_failures); dateIssued is when it was reserved. */
  | { readonly couponId: number; readonly userId: number; readonly status: 'FAILED'; readonly dateIssued: Date; readonly reason: FailureKind };

/**
 * What the domain needs from the async path (reservations held in Redis until persisted), declared
 * here so that the dependency points inward: the async path implements it, the domain never imports it.
 */
export interface Reservations {
  /** A new coupon may reuse an id an earlier database had: clear what is held under it and publish the rules. */
  couponCreated(coupon: Coupon): Promise<void>;
  /** When the user reserved a unit not yet persisted, or null. */
  reservedAt(couponId: number, userId: number): Promise<Date | null>;
  /** Runs fn while no rebuild of the coupon's reservation state from MySQL can run (it could publish terms read before fn's change). */
  whileRebuildHeld<T>(couponId: number, fn: () => Promise<T>): Promise<T>;
  /**
   * Sets the total and window the async path issues by, atomically with its reservations: the total
   * only if the units reserved (`taken`) fit under it. NOT_LOADED: nothing held (a later load reads MySQL).
   */
  changeTerms(rules: IssueRules): Promise<{ outcome: 'APPLIED' | 'NOT_LOADED' | 'BELOW_RESERVED'; taken: number }>;
}

export interface CouponServiceDeps {
  readonly db: repo.Queryable;
  readonly now: () => Date;
  readonly log: Pick<Logger, 'warn'>;
  readonly reservations: Reservations;
}

export async function createCoupon(deps: CouponServiceDeps, input: NewCouponInput): Promise<Coupon> {
  const id = await repo.insertCoupon(deps.db, input, deps.now());
  const coupon = await repo.findCouponById(deps.db, id);
  if (!coupon) throw new Error(`coupon ${id} vanished right after its insert`);
  // MySQL is the record; the async path loads from it on first use if this fails.
  await deps.reservations.couponCreated(coupon).catch((err: unknown) =>
    deps.log.warn({ couponId: id, err: (err as Error).message }, 'coupon rules not published to redis; loaded on first use'));
  return coupon;
}

export async function getCoupon(deps: Pick<CouponServiceDeps, 'db'>, couponId: number): Promise<Coupon> {
  const coupon = await repo.findCouponById(deps.db, couponId);
  if (!coupon) throw new CouponNotExistError(couponId);
  return coupon;
}

/**
 * ISSUED once the row is in MySQL; PENDING while only reserved (async path); FAILED once the consumer
 * gave the reservation up, unless the user has reserved again since (a later reservation is PENDING).
 */
export async function getIssueStatus(deps: CouponServiceDeps, couponId: number, userId: number): Promise<IssueStatus> {
  const issue = await repo.findCouponIssue(deps.db, couponId, userId);
  if (issue) return { couponId, userId, status: 'ISSUED', dateIssued: issue.dateIssued };
  const [failure, reservedAt] = await Promise.all([
    failures.findOpenFailure(deps.db, couponId, userId), deps.reservations.reservedAt(couponId, userId),
  ]);
  // The failed reservation may still sit in Redis (its release pending): the same time means the same reservation.
  if (failure?.reservedAt && (reservedAt === null || reservedAt.getTime() <= failure.reservedAt.getTime())) {
    return { couponId, userId, status: 'FAILED', dateIssued: failure.reservedAt, reason: failure.kind };
  }
  if (reservedAt !== null) return { couponId, userId, status: 'PENDING', dateIssued: reservedAt };
  throw new CouponIssueNotExistError(couponId, userId);
}
