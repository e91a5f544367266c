import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Queryable } from '../adapters/mysql/pool.js';
import { FailureState, type FailureKind, type IssueFailure, type NewIssueFailure } from './issue-failure.js';

interface FailureRow extends RowDataPacket {
  id: number;
  coupon_id: number;
  user_id: number | null;
  reserved_at: Date | null;
  entry_id: string;
  entry_fields: string;
  kind: string;
  reason: string;
  attempts: number;
  state: string;
  unit_release: string | null;
  failed_at: Date;
  retried_at: Date | null;
}

function toFailure(r: FailureRow): IssueFailure {
  return {
    id: Number(r.id),
    couponId: Number(r.coupon_id),
    userId: r.user_id === null ? null : Number(r.user_id),
    reservedAt: r.reserved_at,
    entryId: r.entry_id,
    entryFields: JSON.parse(r.entry_fields) as string[],
    kind: r.kind as FailureKind,
    reason: r.reason,
    attempts: Number(r.attempts),
    state: r.state as FailureState,
    unitRelease: r.unit_release,
    failedAt: r.failed_at,
    retriedAt: r.retried_at,
  };
}

const MAX_REASON = 1024;
const MAX_FIELDS = 2048;

/**
 * Records a failure once per stream entry (a replay hits the unique key and records nothing new).
 * Returns its id, new or already there.
 */
export async function insertFailure(db: Queryable, f: NewIssueFailure, now: Date): Promise<number> {
  const fields = JSON.stringify(f.entryFields);
  await db.execute(
    `INSERT IGNORE INTO coupon_issue_failures (coupon_id, user_id, reserved_at, entry_id, entry_fields, kind, reason, attempts, state, failed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [f.couponId, f.userId, f.reservedAt, f.entryId, fields.length > MAX_FIELDS ? fields.slice(0, MAX_FIELDS) : fields,
      f.kind, f.reason.slice(0, MAX_REASON), f.attempts, FailureState.FAILED, now],
  );
  const [rows] = await db.execute<RowDataPacket[]>(
    'SELECT id FROM coupon_issue_failures WHERE coupon_id = ? AND entry_id = ?', [f.couponId, f.entryId],
  );
  return Number(rows[0]!.id);
}

export async function setUnitRelease(db: Queryable, id: number, outcome: string): Promise<void> {
  await db.execute('UPDATE coupon_issue_failures SET unit_release = ? WHERE id = ?', [outcome.slice(0, 255), id]);
}

/** Moves a failure out of FAILED; false when it was no longer FAILED (another retry got there first). */
export async function closeFailure(db: Queryable, id: number, state: Exclude<FailureState, 'FAILED'>, now: Date): Promise<boolean> {
  const [res] = await db.execute<ResultSetHeader>(
    'UPDATE coupon_issue_failures SET state = ?, retried_at = ? WHERE id = ? AND state = ?', [state, now, id, FailureState.FAILED],
  );
  return res.affectedRows === 1;
}

/** The user's latest failure still FAILED, if any (what GET .../issues/:userId answers FAILED from). */
export async function findOpenFailure(db: Queryable, couponId: number, userId: number): Promise<IssueFailure | null> {
  const [rows] = await db.execute<FailureRow[]>(
    `SELECT * FROM coupon_issue_failures WHERE coupon_id = ? AND user_id = ? AND state = ? ORDER BY id DESC LIMIT 1`,
    [couponId, userId, FailureState.FAILED],
  );
  return rows[0] ? toFailure(rows[0]) : null;
}

export async function findFailureById(db: Queryable, id: number): Promise<IssueFailure | null> {
  const [rows] = await db.execute<FailureRow[]>('SELECT * FROM coupon_issue_failures WHERE id = ?', [id]);
  return rows[0] ? toFailure(rows[0]) : null;
}

/** Failures oldest first, optionally of one coupon and in one state. */
export async function listFailures(db: Queryable, opts: { couponId?: number; state?: FailureState; limit?: number } = {}): Promise<IssueFailure[]> {
  const where: string[] = [];
  const args: (number | string)[] = [];
  if (opts.couponId !== undefined) { where.push('coupon_id = ?'); args.push(opts.couponId); }
  if (opts.state !== undefined) { where.push('state = ?'); args.push(opts.state); }
  const [rows] = await db.query<FailureRow[]>(
    `SELECT * FROM coupon_issue_failures ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
    [...args, opts.limit ?? 10_000],
  );
  return rows.map(toFailure);
}

/** Failures whose unit was released in Redis at or after `since` (each lowered the users hash by one). */
export async function countReleasedSince(db: Queryable, couponId: number, since: Date): Promise<number> {
  const [rows] = await db.execute<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM coupon_issue_failures WHERE coupon_id = ? AND failed_at >= ? AND unit_release LIKE 'released%'`,
    [couponId, since],
  );
  return Number(rows[0]?.n ?? 0);
}
