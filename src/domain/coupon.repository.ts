import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Queryable } from '../adapters/mysql/pool.js';
import { CouponType, IssueMode, type Coupon, type CouponIssue } from './coupon.js';

export type { Queryable };

// snake_case stays in this file: rows are mapped to domain objects here and nowhere else.
interface CouponRow extends RowDataPacket {
  id: number;
  title: string;
  coupon_type: string;
  issue_mode: string | null;
  total_quantity: number | null;
  issued_quantity: number;
  discount_amount: number;
  min_available_amount: number;
  date_issue_start: Date;
  date_issue_end: Date;
  waiting_room_ttl_seconds: number | null;
  waiting_room_pre_queue_seconds: number | null;
  created_at: Date;
  updated_at: Date;
}

interface CouponIssueRow extends RowDataPacket {
  id: number;
  coupon_id: number;
  user_id: number;
  date_issued: Date;
  date_used: Date | null;
}

function toCoupon(r: CouponRow): Coupon {
  return {
    id: Number(r.id),
    title: r.title,
    couponType: r.coupon_type as CouponType,
    issueMode: r.issue_mode as IssueMode | null,
    totalQuantity: r.total_quantity === null ? null : Number(r.total_quantity),
    issuedQuantity: Number(r.issued_quantity),
    discountAmount: Number(r.discount_amount),
    minAvailableAmount: Number(r.min_available_amount),
    dateIssueStart: r.date_issue_start,
    dateIssueEnd: r.date_issue_end,
    waitingRoom: r.waiting_room_ttl_seconds === null ? null : {
      admissionTtlSeconds: Number(r.waiting_room_ttl_seconds),
      preQueueSeconds: Number(r.waiting_room_pre_queue_seconds ?? 0),
    },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toCouponIssue(r: CouponIssueRow): CouponIssue {
  return {
    id: Number(r.id),
    couponId: Number(r.coupon_id),
    userId: Number(r.user_id),
    dateIssued: r.date_issued,
    dateUsed: r.date_used,
  };
}

/** A new coupon; `waitingRoom` absent means none. */
export type NewCoupon = Omit<Coupon, 'id' | 'couponType' | 'issueMode' | 'issuedQuantity' | 'waitingRoom' | 'createdAt' | 'updatedAt'>
  & { readonly waitingRoom?: Coupon['waitingRoom'] };

export async function insertCoupon(db: Queryable, c: NewCoupon, now: Date): Promise<number> {
  const [res] = await db.execute<ResultSetHeader>(
    `INSERT INTO coupons (title, coupon_type, total_quantity, issued_quantity, discount_amount, min_available_amount,
       date_issue_start, date_issue_end, waiting_room_ttl_seconds, waiting_room_pre_queue_seconds, created_at, updated_at)
     VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [c.title, CouponType.FIRST_COME_FIRST_SERVED, c.totalQuantity, c.discountAmount, c.minAvailableAmount,
      c.dateIssueStart, c.dateIssueEnd, c.waitingRoom?.admissionTtlSeconds ?? null, c.waitingRoom?.preQueueSeconds ?? null, now, now],
  );
  return res.insertId;
}

export async function findCouponById(db: Queryable, id: number): Promise<Coupon | null> {
  const [rows] = await db.execute<CouponRow[]>('SELECT * FROM coupons WHERE id = ?', [id]);
  return rows[0] ? toCoupon(rows[0]) : null;
}

/** A page of coupons, newest (highest id) first, below `beforeId` when given. */
export async function listCouponsNewestFirst(db: Queryable, limit: number, beforeId: number | null): Promise<Coupon[]> {
  // query, not execute: MySQL 8 refuses a numeric LIMIT placeholder in prepared statements.
  const [rows] = await db.query<CouponRow[]>(
    `SELECT * FROM coupons ${beforeId === null ? '' : 'WHERE id < ?'} ORDER BY id DESC LIMIT ?`,
    beforeId === null ? [limit] : [beforeId, limit],
  );
  return rows.map(toCoupon);
}

export type CouponTerms = Pick<Coupon, 'id' | 'title' | 'totalQuantity' | 'discountAmount' | 'minAvailableAmount' | 'dateIssueStart' | 'dateIssueEnd' | 'waitingRoom'>;

/**
 * Writes an admin's change, only if the units issued still fit under the new total: the row lock it
 * takes serialises it with the sync path's conditional UPDATE, so no issue can slip in between the
 * check and the write. False: the total would fall below issued_quantity (nothing written).
 */
export async function updateCouponTerms(db: Queryable, t: CouponTerms, now: Date): Promise<boolean> {
  const [res] = await db.execute<ResultSetHeader>(
    `UPDATE coupons SET title = ?, total_quantity = ?, discount_amount = ?, min_available_amount = ?,
        date_issue_start = ?, date_issue_end = ?, waiting_room_ttl_seconds = ?, waiting_room_pre_queue_seconds = ?, updated_at = ?
      WHERE id = ? AND (? IS NULL OR issued_quantity <= ?)`,
    [t.title, t.totalQuantity, t.discountAmount, t.minAvailableAmount, t.dateIssueStart, t.dateIssueEnd,
      t.waitingRoom?.admissionTtlSeconds ?? null, t.waitingRoom?.preQueueSeconds ?? null, now,
      t.id, t.totalQuantity, t.totalQuantity],
  );
  return res.affectedRows === 1;
}

/** Coupons whose window has opened and closed less than `closedWithinMs` ago: newest first, at most `max`. */
export async function findCouponIdsToWatch(db: Queryable, now: Date, closedWithinMs: number, max: number): Promise<number[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT id FROM coupons WHERE date_issue_start <= ? AND date_issue_end > ? ORDER BY id DESC LIMIT ?',
    [now, new Date(now.getTime() - closedWithinMs), max],
  );
  return rows.map((r) => Number(r.id));
}

export interface IssueCountsOfCoupon {
  readonly couponId: number;
  readonly issueMode: IssueMode | null;
  readonly totalQuantity: number | null;
  readonly issuedQuantity: number;
  readonly rows: number;
}

/** Each coupon's count, total and rows, in one statement: one snapshot, so a batch committed meanwhile counts in both or neither. */
export async function readIssueCountsOf(db: Queryable, couponIds: readonly number[]): Promise<IssueCountsOfCoupon[]> {
  if (couponIds.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT c.id, c.issue_mode, c.total_quantity, c.issued_quantity,
            (SELECT COUNT(*) FROM coupon_issues i WHERE i.coupon_id = c.id) AS row_count
       FROM coupons c WHERE c.id IN (?)`,
    [couponIds],
  );
  return rows.map((r) => ({
    couponId: Number(r.id),
    issueMode: r.issue_mode as IssueMode | null,
    totalQuantity: r.total_quantity === null ? null : Number(r.total_quantity),
    issuedQuantity: Number(r.issued_quantity),
    rows: Number(r.row_count),
  }));
}

/** The largest coupon id (0 when none): ids are AUTO_INCREMENT, so nothing above it exists yet. */
export async function findMaxCouponId(db: Queryable): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS max_id FROM coupons');
  return Number(rows[0]?.max_id ?? 0);
}

/** The nearest coupon ids around `id`: the largest below it (0 if none) and the smallest at or above it (null if none). */
export async function findIdNeighbours(db: Queryable, id: number): Promise<{ below: number; atOrAbove: number | null }> {
  const [rows] = await db.execute<RowDataPacket[]>(
    'SELECT (SELECT COALESCE(MAX(id), 0) FROM coupons WHERE id < ?) AS below, (SELECT MIN(id) FROM coupons WHERE id >= ?) AS at_or_above',
    [id, id],
  );
  const r = rows[0];
  return { below: Number(r?.below ?? 0), atOrAbove: r?.at_or_above === null || r?.at_or_above === undefined ? null : Number(r.at_or_above) };
}

/** Takes the row lock until the caller's transaction ends. */
export async function lockCouponById(db: Queryable, id: number): Promise<Coupon | null> {
  const [rows] = await db.execute<CouponRow[]>('SELECT * FROM coupons WHERE id = ? FOR UPDATE', [id]);
  return rows[0] ? toCoupon(rows[0]) : null;
}

/**
 * Writes back the issued count the domain computed (what an ORM's dirty checking would do) and binds
 * the coupon to the sync path. With `expectedIssued` the write is fenced: it happens only if the count
 * is still the one read. Returns false when nothing was written (fence failed, or bound to async).
 */
export async function saveIssuedQuantity(db: Queryable, c: Coupon, expectedIssued?: number): Promise<boolean> {
  const fence = expectedIssued === undefined ? '' : ' AND issued_quantity = ?';
  const [res] = await db.execute<ResultSetHeader>(
    `UPDATE coupons SET issued_quantity = ?, issue_mode = 'SYNC', updated_at = ?
      WHERE id = ? AND (issue_mode IS NULL OR issue_mode = 'SYNC')${fence}`,
    [c.issuedQuantity, c.updatedAt, c.id, ...(expectedIssued === undefined ? [] : [expectedIssued])],
  );
  return res.affectedRows === 1;
}

/** Binds the coupon to the async path unless the sync path has it; returns the mode it is bound to (null: no coupon). */
export async function bindAsyncMode(db: Queryable, couponId: number): Promise<IssueMode | null> {
  await db.execute(
    `UPDATE coupons SET issue_mode = 'ASYNC' WHERE id = ? AND issue_mode IS NULL`, [couponId],
  );
  const [rows] = await db.execute<RowDataPacket[]>('SELECT issue_mode FROM coupons WHERE id = ?', [couponId]);
  return rows[0] ? (rows[0].issue_mode as IssueMode) : null;
}

/**
 * Takes one unit only while stock remains (and binds the coupon to the sync path), in one statement:
 * the row lock it takes is held until commit, so concurrent callers serialise on the row and none
 * can pass the limit. False: sold out, or bound to the async path.
 */
export async function incrementIssuedIfAvailable(db: Queryable, couponId: number, now: Date): Promise<boolean> {
  const [res] = await db.execute<ResultSetHeader>(
    `UPDATE coupons SET issued_quantity = issued_quantity + 1, issue_mode = 'SYNC', updated_at = ?
      WHERE id = ? AND (total_quantity IS NULL OR issued_quantity < total_quantity)
        AND (issue_mode IS NULL OR issue_mode = 'SYNC')`,
    [now, couponId],
  );
  return res.affectedRows === 1;
}

/** Adds n persisted issues to the count (the consumer, after a batch insert). */
export async function addIssuedQuantity(db: Queryable, couponId: number, n: number, now: Date): Promise<void> {
  if (n === 0) return;
  await db.execute('UPDATE coupons SET issued_quantity = issued_quantity + ?, updated_at = ? WHERE id = ?', [n, now, couponId]);
}

/** Sets the count from the rows themselves (reconcile --repair). */
export async function recountIssuedQuantity(db: Queryable, couponId: number): Promise<void> {
  await db.execute(
    'UPDATE coupons SET issued_quantity = (SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = ?), updated_at = NOW(3) WHERE id = ?',
    [couponId, couponId],
  );
}

/** Throws ER_DUP_ENTRY when the user already has this coupon: the unique key is the last line of defence. */
export async function insertCouponIssue(db: Queryable, couponId: number, userId: number, dateIssued: Date): Promise<void> {
  await db.execute(
    'INSERT INTO coupon_issues (coupon_id, user_id, date_issued, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    [couponId, userId, dateIssued, dateIssued, dateIssued],
  );
}

export interface IssueToPersist {
  readonly userId: number;
  readonly dateIssued: Date;
}

/**
 * One multi-row INSERT; rows already present are skipped by the unique key, so replaying a batch
 * is harmless. Returns how many rows were new.
 */
export async function insertCouponIssuesIgnoringDuplicates(db: Queryable, couponId: number, issues: readonly IssueToPersist[]): Promise<number> {
  if (issues.length === 0) return 0;
  const now = new Date();
  const values = issues.flatMap((i) => [couponId, i.userId, i.dateIssued, now, now]);
  const placeholders = issues.map(() => '(?, ?, ?, ?, ?)').join(', ');
  // query, not execute: a prepared statement per batch size would fill the statement cache.
  const [res] = await db.query<ResultSetHeader>(
    `INSERT IGNORE INTO coupon_issues (coupon_id, user_id, date_issued, created_at, updated_at) VALUES ${placeholders}`,
    values,
  );
  return res.affectedRows;
}

export async function findCouponIssue(db: Queryable, couponId: number, userId: number): Promise<CouponIssue | null> {
  const [rows] = await db.execute<CouponIssueRow[]>(
    'SELECT id, coupon_id, user_id, date_issued, date_used FROM coupon_issues WHERE coupon_id = ? AND user_id = ?',
    [couponId, userId],
  );
  return rows[0] ? toCouponIssue(rows[0]) : null;
}

/**
 * Whether the user holds the coupon, read with a shared lock: it waits for a concurrent transaction
 * inserting that very row, so a consumer giving up an entry cannot miss a replay committing it.
 */
export async function existsCouponIssueLocked(tx: Queryable, couponId: number, userId: number): Promise<boolean> {
  const [rows] = await tx.execute<RowDataPacket[]>(
    'SELECT 1 FROM coupon_issues WHERE coupon_id = ? AND user_id = ? LOCK IN SHARE MODE', [couponId, userId],
  );
  return rows.length > 0;
}

/** How many of these users MySQL holds the coupon for (checked in chunks). */
export async function countIssuedAmong(db: Queryable, couponId: number, userIds: readonly number[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < userIds.length; i += 1000) {
    const chunk = userIds.slice(i, i + 1000);
    const [rows] = await db.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM coupon_issues WHERE coupon_id = ? AND user_id IN (?)', [couponId, chunk],
    );
    found += Number(rows[0]?.n ?? 0);
  }
  return found;
}

export async function existsCouponIssue(db: Queryable, couponId: number, userId: number): Promise<boolean> {
  const [rows] = await db.execute<RowDataPacket[]>(
    'SELECT 1 FROM coupon_issues WHERE coupon_id = ? AND user_id = ? LIMIT 1', [couponId, userId],
  );
  return rows.length > 0;
}

/** Every persisted issue of a coupon, in pages (for reconciling with Redis). */
export async function* listIssuedUsers(db: Queryable, couponId: number, pageSize = 10_000): AsyncGenerator<IssueToPersist[]> {
  let after = -1;
  for (;;) {
    const [rows] = await db.query<CouponIssueRow[]>(
      'SELECT user_id, date_issued FROM coupon_issues WHERE coupon_id = ? AND user_id > ? ORDER BY user_id LIMIT ?',
      [couponId, after, pageSize],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({ userId: Number(r.user_id), dateIssued: r.date_issued }));
    after = Number(rows.at(-1)!.user_id);
  }
}

export interface IssueCounts {
  readonly rows: number;
  readonly distinctUsers: number;
  readonly issuedQuantity: number | null;
  readonly totalQuantity: number | null;
}

/** The numbers that prove or disprove exactness, read in one statement. */
export async function countIssues(db: Queryable, couponId: number): Promise<IssueCounts> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = ?) AS \`rows\`,
            (SELECT COUNT(DISTINCT user_id) FROM coupon_issues WHERE coupon_id = ?) AS distinct_users,
            c.issued_quantity, c.total_quantity
       FROM (SELECT 1) one LEFT JOIN coupons c ON c.id = ?`,
    [couponId, couponId, couponId],
  );
  const r = rows[0]!;
  return {
    rows: Number(r.rows),
    distinctUsers: Number(r.distinct_users),
    issuedQuantity: r.issued_quantity === null ? null : Number(r.issued_quantity),
    totalQuantity: r.total_quantity === null ? null : Number(r.total_quantity),
  };
}

/** When a coupon's first and last issued units were taken (null without rows): the live page's sell-out time. */
export async function findIssueTimeRange(db: Queryable, couponId: number): Promise<{ first: Date; last: Date } | null> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT MIN(date_issued) AS first, MAX(date_issued) AS last FROM coupon_issues WHERE coupon_id = ?',
    [couponId],
  );
  const r = rows[0];
  return r?.first ? { first: new Date(r.first as Date), last: new Date(r.last as Date) } : null;
}
