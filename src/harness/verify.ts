import type { RowDataPacket } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, type Pool } from '../adapters/mysql/pool.js';
import { createRedis, type Redis, type RedisTarget } from '../adapters/redis/client.js';
import { createKeys, type Keys } from '../adapters/redis/keys.js';

/** Reads the outcome of a scenario straight from MySQL and Redis, never through the service under test. */
export interface Store {
  readonly db: Pool;
  readonly redis: Redis;
  readonly keys: Keys;
  close(): Promise<void>;
}

export function openStore(mysqlUrl: string, redis: RedisTarget, prefix: string): Store {
  const db = createPool(mysqlUrl, 4);
  const client = createRedis(redis, 'coupon-bench');
  client.on('error', () => {}); // failures surface on the commands themselves
  return {
    db,
    redis: client,
    keys: createKeys(prefix),
    async close() {
      await Promise.allSettled([db.end(), client.quit()]);
    },
  };
}

export interface Outcome {
  /** Units on offer, summed over the scenario's coupons. */
  readonly total: number;
  /** Rows in coupon_issues: what users really hold. */
  readonly rows: number;
  /** Rows beyond each coupon's total, summed. */
  readonly overIssued: number;
  /** Rows for a (coupon, user) pair already holding one. The unique key makes this 0 unless it is dropped. */
  readonly duplicates: number;
  /** coupons.issued_quantity minus rows, summed: the counter's lost (negative) or phantom updates. */
  readonly counterDrift: number;
  /** Coupons whose rows fall short of their total. */
  readonly couponsNotFull: number;
  /** Units reserved in Redis (HLEN of the users hashes) and entries left in the streams; async path only. */
  readonly redisReserved: number;
  readonly streamLeft: number;
  /** date_issued span of the rows: the issuing phase as the server saw it. */
  readonly issuingMs: number | null;
}

interface CouponOutcomeRow extends RowDataPacket {
  total: number | null;
  issued: number;
  rows_: number;
  pairs: number;
  first_at: Date | null;
  last_at: Date | null;
}

export async function readOutcome(store: Store, couponIds: readonly number[]): Promise<Outcome> {
  const [rows] = await store.db.query<CouponOutcomeRow[]>(
    `SELECT c.total_quantity AS total, c.issued_quantity AS issued, COUNT(i.id) AS rows_,
            COUNT(DISTINCT i.user_id) AS pairs, MIN(i.date_issued) AS first_at, MAX(i.date_issued) AS last_at
       FROM coupons c LEFT JOIN coupon_issues i ON i.coupon_id = c.id
      WHERE c.id IN (?) GROUP BY c.id`,
    [couponIds],
  );
  const redis = await readRedis(store, couponIds);
  let first = Infinity;
  let last = -Infinity;
  const o = { total: 0, rows: 0, overIssued: 0, duplicates: 0, counterDrift: 0, couponsNotFull: 0 };
  for (const r of rows) {
    const total = Number(r.total ?? 0);
    const n = Number(r.rows_);
    o.total += total;
    o.rows += n;
    o.overIssued += Math.max(0, n - total);
    o.duplicates += n - Number(r.pairs);
    o.counterDrift += Number(r.issued) - n;
    if (n < total) o.couponsNotFull++;
    if (r.first_at) first = Math.min(first, r.first_at.getTime());
    if (r.last_at) last = Math.max(last, r.last_at.getTime());
  }
  return { ...o, ...redis, issuingMs: o.rows > 1 ? last - first : null };
}

async function readRedis(store: Store, couponIds: readonly number[]): Promise<{ redisReserved: number; streamLeft: number }> {
  // One pipeline per coupon: a cluster runs a pipeline on one node, and coupons spread over several.
  const replies = await Promise.all(couponIds.map((id) => store.redis.pipeline().hlen(store.keys.users(id)).xlen(store.keys.stream(id)).exec()));
  let redisReserved = 0;
  let streamLeft = 0;
  for (const [[hlenErr, reserved], [xlenErr, left]] of replies as [[Error | null, number], [Error | null, number]][]) {
    const err = hlenErr ?? xlenErr;
    if (err) throw err;
    redisReserved += Number(reserved);
    streamLeft += Number(left);
  }
  return { redisReserved, streamLeft };
}

async function countRows(store: Store, couponIds: readonly number[]): Promise<number> {
  const [rows] = await store.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM coupon_issues WHERE coupon_id IN (?)', [couponIds]);
  return Number(rows[0]?.['n'] ?? 0);
}

export interface Drain {
  readonly drained: boolean;
  /** Rows still to write when the wait began. */
  readonly backlog: number;
  readonly ms: number;
}

/**
 * Waits until every unit reserved in Redis is a row in MySQL and the streams are empty: the
 * consumer has caught up. Polls every few milliseconds, so the timing is good to about that.
 */
export async function waitForDrain(store: Store, couponIds: readonly number[], timeoutMs: number): Promise<Drain> {
  const start = performance.now();
  let backlog: number | undefined;
  for (;;) {
    const { redisReserved, streamLeft } = await readRedis(store, couponIds);
    // Rows are counted for the backlog, then only once the streams are empty: a COUNT every few ms over a
    // growing table would load the MariaDB whose CPU the bench measures.
    if (backlog === undefined || streamLeft === 0) {
      const rows = await countRows(store, couponIds);
      backlog ??= Math.max(0, redisReserved - rows);
      if (rows >= redisReserved && streamLeft === 0) return { drained: true, backlog, ms: performance.now() - start };
    }
    if (performance.now() - start > timeoutMs) return { drained: false, backlog, ms: performance.now() - start };
    await sleep(5);
  }
}

/**
 * The outcome once it stops changing: requests still inside the server when the generator stopped
 * may commit after it, and a late over-issue must be seen too.
 */
export async function readSettledOutcome(store: Store, couponIds: readonly number[], timeoutMs = 5000): Promise<Outcome> {
  const deadline = performance.now() + timeoutMs;
  let previous = await readOutcome(store, couponIds);
  for (;;) {
    await sleep(100);
    const next = await readOutcome(store, couponIds);
    const settled = next.rows === previous.rows && next.redisReserved === previous.redisReserved && next.streamLeft === previous.streamLeft;
    if (settled || performance.now() > deadline) return next;
    previous = next;
  }
}
