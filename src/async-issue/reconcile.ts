import { IssueMode, sameIssueTerms } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import type { Deps } from '../deps.js';
import { CouponNotExistError } from '../errors.js';
import { copyPersistedUsersToRedis, publishCouponRules, readRedisRules, renewEpoch, withCouponStateLock } from './coupon-mirror.js';
import { assessLoss, reportLoss, type LossReport } from './loss/lost-reservations.js';
import { ReservationStreams } from './stream/reservation-streams.js';

export interface Reconciliation {
  readonly couponId: number;
  /** A SYNC coupon is issued in MySQL alone: Redis holds nothing for it and nothing is compared. */
  readonly issueMode: IssueMode | null;
  /** Reserved in Redis, neither in MySQL nor waiting in the stream: accepted, then its entry lost. */
  readonly reservedNotPersisted: number[];
  /** In MySQL but unknown to Redis: Redis lost data; left alone, such users could be issued again. */
  readonly persistedNotReserved: number[];
  /** Reserved and still in the stream: on their way, not a difference. */
  readonly queued: number;
  readonly redisCount: number;
  readonly mysqlRows: number;
  readonly mysqlIssuedQuantity: number;
  readonly rulesInRedis: 'match' | 'missing' | 'differ';
  /** Accepted reservations Redis lost (counted from the reservations seen before); null on the sync path. */
  readonly loss: LossReport | null;
  readonly inAgreement: boolean;
  readonly repaired: boolean;
}

async function readRedisUsers(deps: Deps, couponId: number): Promise<Set<number>> {
  const users = new Set<number>();
  let cursor = '0';
  do {
    const [next, flat] = await deps.redis.hscan(deps.keys.users(couponId), cursor, 'COUNT', 5000);
    for (let i = 0; i < flat.length; i += 2) users.add(Number(flat[i]));
    cursor = next;
  } while (cursor !== '0');
  return users;
}

/**
 * Compares a coupon's Redis state with MySQL; with repair, brings Redis in line with MySQL.
 * Read order matters: Redis users, then the stream, then MySQL, so that an entry persisted
 * while we read is seen in MySQL rather than mistaken for a lost one.
 */
export async function reconcileCoupon(deps: Deps, couponId: number, opts: { repair?: boolean } = {}): Promise<Reconciliation> {
  // A repair republishes the terms it read from MySQL: under the lock an admin's change of terms
  // takes too, so it never puts back terms a PATCH has just replaced.
  if (opts.repair) return withCouponStateLock(deps, couponId, () => compareAndRepair(deps, couponId, opts));
  return compareAndRepair(deps, couponId, opts);
}

async function compareAndRepair(deps: Deps, couponId: number, opts: { repair?: boolean }): Promise<Reconciliation> {
  const coupon = await repo.findCouponById(deps.db, couponId);
  if (!coupon) throw new CouponNotExistError(couponId);
  if (coupon.issueMode === IssueMode.SYNC) {
    // Only MySQL's own count can disagree here (with its rows); repair recounts it.
    const counts = await repo.countIssues(deps.db, couponId);
    const inAgreement = counts.issuedQuantity === counts.rows;
    if (opts.repair && !inAgreement) await repo.recountIssuedQuantity(deps.db, couponId);
    return {
      couponId, issueMode: coupon.issueMode, reservedNotPersisted: [], persistedNotReserved: [], queued: 0, redisCount: 0,
      mysqlRows: counts.rows, mysqlIssuedQuantity: counts.issuedQuantity ?? 0, rulesInRedis: 'match', loss: null,
      inAgreement, repaired: opts.repair === true && !inAgreement,
    };
  }
  const rules = await readRedisRules(deps, couponId);
  const redisUsers = await readRedisUsers(deps, couponId);
  const queued = await new ReservationStreams(deps).queuedUsers(couponId);
  const mysqlUsers = new Set<number>();
  for await (const page of repo.listIssuedUsers(deps.db, couponId)) for (const i of page) mysqlUsers.add(i.userId);
  const counts = await repo.countIssues(deps.db, couponId);

  const reservedNotPersisted = [...redisUsers].filter((u) => !mysqlUsers.has(u) && !queued.has(u)).sort((a, b) => a - b);
  const persistedNotReserved = [...mysqlUsers].filter((u) => !redisUsers.has(u)).sort((a, b) => a - b);
  // Redis may not know the binding yet (the reserver binds again, harmlessly); it must not claim another.
  const rulesInRedis = rules === null ? 'missing'
    : (rules.issueMode === null || rules.issueMode === coupon.issueMode) && sameIssueTerms(rules, coupon) ? 'match' : 'differ';
  // Held by either store: what a repair leaves in the users hash, to compare with what was seen before.
  const loss = await assessLoss(deps, couponId, {
    heldNow: redisUsers.size + persistedNotReserved.length - reservedNotPersisted.length,
    queuedNotPersisted: [...queued].filter((u) => !mysqlUsers.has(u)).length,
  });
  const lost = (loss.reservationsLost ?? 0) > 0 || (loss.streamEntriesLost ?? 0) > 0;
  const inAgreement = reservedNotPersisted.length === 0 && persistedNotReserved.length === 0
    && rulesInRedis === 'match' && counts.issuedQuantity === counts.rows && !lost;

  let repaired = false;
  if (opts.repair && !inAgreement) {
    if (persistedNotReserved.length) await copyPersistedUsersToRedis(deps, couponId);
    if (reservedNotPersisted.length) await deps.redis.hdel(deps.keys.users(couponId), ...reservedNotPersisted.map(String));
    if (rulesInRedis !== 'match') await publishCouponRules(deps, coupon);
    else await renewEpoch(deps, couponId);
    if (counts.issuedQuantity !== counts.rows) await repo.recountIssuedQuantity(deps.db, couponId);
    await reportLoss(deps, loss, `reconcile --repair of coupon ${couponId}`);
    repaired = true;
  }
  return {
    couponId, issueMode: coupon.issueMode, reservedNotPersisted, persistedNotReserved, queued: queued.size,
    redisCount: redisUsers.size, mysqlRows: counts.rows, mysqlIssuedQuantity: counts.issuedQuantity ?? 0,
    rulesInRedis, loss, inAgreement, repaired,
  };
}
