import * as repo from '../../domain/coupon.repository.js';
import { countReleasedSince } from '../../domain/issue-failure.repository.js';
import type { Deps } from '../../deps.js';
import { ReservationStreams } from '../stream/reservation-streams.js';
import { findMark, resetMark } from './marks.repository.js';
import type { ReservationMarks } from './reservation-marks.js';

export interface LossReport {
  readonly couponId: number;
  /** The most units the users hash was seen holding before (MySQL's mark, or this process's fresher count); null: never recorded. */
  readonly reservedSeen: number | null;
  readonly seenAt: Date | null;
  /** Units released since then by failed issues (each lowered the hash by one on purpose). */
  readonly releasedSince: number;
  /** Units held now: the users hash after a rebuild copied MySQL's users back, or both sets' union (reconcile). */
  readonly heldNow: number;
  readonly mysqlRows: number;
  /** Users whose entries wait in the stream and MySQL does not hold (entries of persisted users reappear when their acknowledgements were lost too). */
  readonly queuedNotPersisted: number;
  /** Reservations the users hash had that neither it nor MySQL holds now: accepted, then lost. null: unknown. */
  readonly reservationsLost: number | null;
  /** Entries the stream should hold (seen, less persisted and released) that it does not. null: unknown. */
  readonly streamEntriesLost: number | null;
}

/**
 * Compares the last count of reservations seen before Redis lost data with what survived in Redis
 * and MySQL. A lower bound: reservations made after the count was last noted are not in it.
 */
export async function assessLoss(
  deps: Deps, couponId: number, opts: { marks?: ReservationMarks; heldNow?: number; queuedNotPersisted?: number } = {},
): Promise<LossReport> {
  const stored = await findMark(deps.db, couponId);
  const local = opts.marks?.lastSeen(couponId) ?? null;
  // The later observation wins: before a loss it is this process's (MySQL's copy lags a second);
  // after another process reported the loss and reset the count, it is MySQL's.
  const seen = local && (!stored || local.at > stored.seenAt) ? { reservedSeen: local.count, seenAt: local.at } : stored;
  const queuedNotPersisted = async () => {
    const queued = [...await new ReservationStreams(deps).queuedUsers(couponId)];
    return queued.length - await repo.countIssuedAmong(deps.db, couponId, queued);
  };
  const [heldNow, queued, counts, releasedSince] = await Promise.all([
    opts.heldNow ?? deps.redis.hlen(deps.keys.users(couponId)),
    opts.queuedNotPersisted ?? queuedNotPersisted(),
    repo.countIssues(deps.db, couponId),
    seen ? countReleasedSince(deps.db, couponId, seen.seenAt) : 0,
  ]);
  const expected = seen ? seen.reservedSeen - releasedSince : null;
  return {
    couponId,
    reservedSeen: seen?.reservedSeen ?? null,
    seenAt: seen?.seenAt ?? null,
    releasedSince,
    heldNow,
    mysqlRows: counts.rows,
    queuedNotPersisted: queued,
    reservationsLost: expected === null ? null : Math.max(0, expected - heldNow),
    streamEntriesLost: expected === null ? null : Math.max(0, expected - counts.rows - queued),
  };
}

/** Logs a loss (warn when any, so an operator sees it) and resets the count so the same loss is told once. */
export async function reportLoss(deps: Deps, r: LossReport, context: string, marks?: ReservationMarks): Promise<void> {
  const fields = { ...r, seenAt: r.seenAt?.toISOString() ?? null };
  if (r.reservedSeen === null) {
    deps.log.info(fields, `${context}; no count of its reservations was recorded before (a first load, or none ever flushed), so a loss, if any, is unknown`);
  } else if ((r.reservationsLost ?? 0) > 0 || (r.streamEntriesLost ?? 0) > 0) {
    deps.log.warn(fields, `${context}: redis lost ${r.reservationsLost} accepted reservation(s) MySQL never saw `
      + `(the users hash held ${r.reservedSeen} at ${fields.seenAt}, holds ${r.heldNow} now) and ${r.streamEntriesLost} stream entr(ies)`);
  } else {
    deps.log.info(fields, `${context}: no accepted reservation lost`);
  }
  if (r.reservedSeen !== null && r.heldNow < r.reservedSeen) {
    await resetMark(deps.db, r.couponId, r.heldNow, new Date());
    marks?.reset(r.couponId, r.heldNow);
  }
}
