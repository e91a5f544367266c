import { randomUUID } from 'node:crypto';
import { withTransaction } from '../../adapters/mysql/pool.js';
import type { ReleaseOutcome } from '../../adapters/redis/scripts.js';
import * as repo from '../../domain/coupon.repository.js';
import type { FailureKind } from '../../domain/issue-failure.js';
import * as failures from '../../domain/issue-failure.repository.js';
import type { Deps } from '../../deps.js';
import { entryFields, isMalformed, type ReservationEntry } from '../stream/reservation-entry.js';
import type { ReservationStreams, StreamEntry } from '../stream/reservation-streams.js';

export interface GivenUp {
  readonly entry: StreamEntry;
  readonly kind: FailureKind;
  readonly reason: string;
  /** Tries (or deliveries) it had before it was given up. */
  readonly attempts: number;
}

/** RECORDED: a failed issue now; ALREADY_ISSUED: MySQL holds the user (a replay whose first run committed), no failure. */
export type GiveUpOutcome = 'RECORDED' | 'ALREADY_ISSUED';

const RELEASE_NOTES: Record<ReleaseOutcome, string> = {
  RELEASED: 'released: the coupon can sell this unit again',
  NOT_HELD: 'not held any more: released before, or the user has reserved again since',
  NOT_LOADED: 'nothing held: redis had lost the coupon, and a rebuild copies only persisted users',
};
const NO_UNIT = 'no unit: the entry names no user (it was written around the reserve script)';

async function releaseUnit(deps: Deps, e: ReservationEntry): Promise<string> {
  return RELEASE_NOTES[await deps.scripts.releaseReservation(e.couponId, e.userId, e.reservedAt.getTime(), randomUUID())];
}

/**
 * Gives an entry up for good, in an order that loses nothing: recorded in MySQL first (durably, once
 * per entry), then the unit it held released in Redis (so the coupon can still sell exactly its
 * total), then acknowledged. A crash between the steps leaves the entry pending: its replay finds the
 * record (unique key) and repeats the rest, which is idempotent.
 */
export async function giveUpEntry(deps: Deps, streams: ReservationStreams, g: GivenUp): Promise<GiveUpOutcome> {
  const { entry } = g;
  const reservation = isMalformed(entry) ? null : entry;
  const failureId = await withTransaction(deps.db, async (tx) => {
    if (reservation && await repo.existsCouponIssueLocked(tx, reservation.couponId, reservation.userId)) return null;
    return failures.insertFailure(tx, {
      couponId: entry.couponId, userId: reservation?.userId ?? null, reservedAt: reservation?.reservedAt ?? null,
      entryId: entry.id, entryFields: entryFields(entry), kind: g.kind, reason: g.reason, attempts: g.attempts,
    }, deps.now());
  });
  if (failureId !== null) {
    await failures.setUnitRelease(deps.db, failureId, reservation ? await releaseUnit(deps, reservation) : NO_UNIT);
  }
  await streams.acknowledge(entry.couponId, [entry.id]);
  return failureId === null ? 'ALREADY_ISSUED' : 'RECORDED';
}
