import type { Deps } from '../deps.js';
import { IssueMode } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import { ReservationStreams, type ReservationBacklog } from '../async-issue/stream/reservation-streams.js';

/** Coupons closed longer ago than this leave the watch (and the metrics): the label set stays bounded. */
export const WATCH_CLOSED_WITHIN_MS = 3_600_000;
/** At most this many coupons (the newest) are watched at once. */
export const MAX_WATCHED_COUPONS = 100;

export interface CouponState {
  readonly couponId: number;
  readonly issueMode: IssueMode | null;
  /** null: unlimited. */
  readonly totalQuantity: number | null;
  /** Units taken: reservations in Redis for an async coupon, issued_quantity for the others. */
  readonly reserved: number;
  /** Rows in MySQL. */
  readonly persisted: number;
  readonly issuedQuantity: number;
  /** Stream entries not yet delivered to a consumer, and delivered but not acknowledged (null: not an async coupon). */
  readonly lag: number | null;
  readonly pending: number | null;
  /** Async coupons: reserved - (rows + queued or pending); 0 for the others. */
  readonly reservationGap: number;
  /** issued_quantity - rows. */
  readonly countGap: number;
  /** The larger of the two in size, sign kept: 0 when healthy. */
  readonly gap: number;
}

function stateOf(c: repo.IssueCountsOfCoupon, backlog: ReservationBacklog | undefined): CouponState {
  const countGap = c.issuedQuantity - c.rows;
  const base = { couponId: c.couponId, issueMode: c.issueMode, totalQuantity: c.totalQuantity, persisted: c.rows, issuedQuantity: c.issuedQuantity, countGap };
  if (c.issueMode !== IssueMode.ASYNC || !backlog) {
    return { ...base, reserved: c.issuedQuantity, lag: null, pending: null, reservationGap: 0, gap: countGap };
  }
  const reservationGap = backlog.reserved - c.rows - backlog.queued;
  return {
    ...base,
    reserved: backlog.reserved,
    lag: backlog.queued - backlog.pending,
    pending: backlog.pending,
    reservationGap,
    gap: Math.abs(reservationGap) >= Math.abs(countGap) ? reservationGap : countGap,
  };
}

/**
 * Reads what must agree for each watched coupon. Redis first, MySQL last: a batch the consumer
 * commits in between is then counted twice (in the stream and in the rows) until it is acknowledged
 * a moment later, never missed, so a drain in progress can only show a brief negative gap.
 */
export async function readCouponStates(deps: Deps, now: Date): Promise<CouponState[]> {
  return readStatesOf(deps, await repo.findCouponIdsToWatch(deps.db, now, WATCH_CLOSED_WITHIN_MS, MAX_WATCHED_COUPONS));
}

/** The states of the given coupons (the live page's), read as readCouponStates reads the watched ones. */
export async function readStatesOf(deps: Deps, ids: readonly number[]): Promise<CouponState[]> {
  const backlogs = await new ReservationStreams(deps).backlogs(ids);
  const counts = await repo.readIssueCountsOf(deps.db, ids);
  return counts.map((c) => stateOf(c, backlogs.get(c.couponId)));
}

/** readCouponStates, shared by every caller for up to `maxAgeMs` (scrapes and the watch), one read at a time. */
export function cachedCouponStates(deps: Deps, maxAgeMs = 1000): () => Promise<CouponState[]> {
  let last: { at: number; states: CouponState[] } | undefined;
  let inFlight: Promise<CouponState[]> | undefined;
  return () => {
    if (last && Date.now() - last.at < maxAgeMs) return Promise.resolve(last.states);
    const startedAt = Date.now();
    inFlight ??= readCouponStates(deps, deps.now())
      .then((states) => {
        last = { at: startedAt, states };
        return states;
      })
      .finally(() => { inFlight = undefined; });
    return inFlight;
  };
}
