import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from '../../adapters/mysql/pool.js';

export interface ReservationMark {
  /** The most units the coupon's users hash was seen holding. */
  readonly reservedSeen: number;
  readonly seenAt: Date;
}

/** Raises the mark (never lowers it: several API processes flush, each with what it saw last). */
export async function raiseMark(db: Queryable, couponId: number, held: number, now: Date): Promise<void> {
  // GREATEST with the value passed twice: VALUES() in ON DUPLICATE KEY is deprecated in MySQL 8, and MariaDB lacks its replacement.
  await db.execute(
    `INSERT INTO coupon_reservation_marks (coupon_id, reserved_seen, seen_at) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE seen_at = IF(? >= reserved_seen, ?, seen_at), reserved_seen = GREATEST(reserved_seen, ?)`,
    [couponId, held, now, held, now, held],
  );
}

/** Sets the mark to what Redis holds after a loss was reported, so the same loss is not reported twice. */
export async function resetMark(db: Queryable, couponId: number, held: number, now: Date): Promise<void> {
  await db.execute(
    `INSERT INTO coupon_reservation_marks (coupon_id, reserved_seen, seen_at) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE reserved_seen = ?, seen_at = ?`,
    [couponId, held, now, held, now],
  );
}

export async function findMark(db: Queryable, couponId: number): Promise<ReservationMark | null> {
  const [rows] = await db.execute<RowDataPacket[]>(
    'SELECT reserved_seen, seen_at FROM coupon_reservation_marks WHERE coupon_id = ?', [couponId],
  );
  return rows[0] ? { reservedSeen: Number(rows[0].reserved_seen), seenAt: rows[0].seen_at as Date } : null;
}
