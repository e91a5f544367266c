import type { Deps } from '../deps.js';
import { CouponIssueNotExistError, CouponNotExistError } from '../errors.js';
import type { Coupon } from './coupon.js';
import * as repo from './coupon.repository.js';
import { publishCouponRules } from '../reservations/coupon-state.js';

export type NewCouponInput = repo.NewCoupon;

export type IssueStatus =
  | { readonly couponId: number; readonly userId: number; readonly status: 'ISSUED'; readonly dateIssued: Date }
  | { readonly couponId: number; readonly userId: number; readonly status: 'PENDING'; readonly dateIssued: Date };

export async function createCoupon(deps: Deps, input: NewCouponInput): Promise<Coupon> {
  const id = await repo.insertCoupon(deps.db, input, deps.now());
  const coupon = await repo.findCouponById(deps.db, id);
  if (!coupon) throw new Error(`coupon ${id} vanished right after its insert`);
  // MySQL is the record; Redis is loaded from it on first use if this publish fails.
  await publishCouponRules(deps, coupon, { justCreated: true }).catch((err: unknown) =>
    deps.log.warn({ couponId: id, err: (err as Error).message }, 'coupon rules not published to redis; loaded on first use'));
  return coupon;
}

export async function getCoupon(deps: Deps, couponId: number): Promise<Coupon> {
  const coupon = await repo.findCouponById(deps.db, couponId);
  if (!coupon) throw new CouponNotExistError(couponId);
  return coupon;
}

/** ISSUED once the row is in MySQL; PENDING while only reserved in Redis (async path). */
export async function getIssueStatus(deps: Deps, couponId: number, userId: number): Promise<IssueStatus> {
  const issue = await repo.findCouponIssue(deps.db, couponId, userId);
  if (issue) return { couponId, userId, status: 'ISSUED', dateIssued: issue.dateIssued };
  const reservedAt = await deps.redis.hget(deps.keys.users(couponId), String(userId));
  if (reservedAt !== null) return { couponId, userId, status: 'PENDING', dateIssued: new Date(Number(reservedAt)) };
  throw new CouponIssueNotExistError(couponId, userId);
}
