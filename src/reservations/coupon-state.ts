import { randomUUID } from 'node:crypto';
import { IssueMode, sameIssueTerms, type IssueRules } from '../coupons/coupon.js';
import * as repo from '../coupons/coupon.repository.js';
import type { Deps } from '../deps.js';
import { CouponNotExistError } from '../errors.js';
import { withRedisLock } from '../redis/lock.js';
import { CONSUMER_GROUP } from '../redis/keys.js';

const UNLIMITED = -1;
const REBUILD_LOCK = { leaseMs: 60_000, waitMs: 15_000 } as const;

/**
 * Writes a coupon's issue rules to Redis (with its stream and consumer group) and lists it for the
 * consumers. Listed first: rules without the listing would accept entries no consumer reads.
 */
export async function publishCouponRules(deps: Deps, c: IssueRules, opts: { justCreated?: boolean } = {}): Promise<void> {
  await deps.redis.sadd(deps.keys.activeCoupons, String(c.id));
  await deps.redis.loadCoupon(
    deps.keys.rules(c.id), deps.keys.stream(c.id), deps.keys.users(c.id),
    c.totalQuantity ?? UNLIMITED, c.dateIssueStart.getTime(), c.dateIssueEnd.getTime(), CONSUMER_GROUP, c.issueMode ?? '',
    opts.justCreated ? '1' : '0', randomUUID(),
  );
}

/** Marks the users hash as changed by something other than reservations (a repair freed or restored members). */
async function renewEpoch(deps: Deps, couponId: number): Promise<void> {
  await deps.redis.hset(deps.keys.rules(couponId), 'epoch', randomUUID());
}

/** Records in Redis the path a coupon is bound to (MySQL holds the binding; this saves asking it again). */
export async function publishIssueMode(deps: Deps, couponId: number, mode: IssueMode): Promise<void> {
  await deps.redis.hset(deps.keys.rules(couponId), 'mode', mode);
}

export interface RedisRules extends IssueRules {
  /** Renewed whenever the users hash may have lost members (rebuild, repair). */
  readonly epoch: string;
}

/** The rules as Redis holds them, or null when they are not loaded. */
export async function readRedisRules(deps: Deps, couponId: number): Promise<RedisRules | null> {
  const h = await deps.redis.hgetall(deps.keys.rules(couponId));
  if (h.total === undefined || h.start === undefined || h.end === undefined) return null;
  const total = Number(h.total);
  return {
    id: couponId,
    epoch: h.epoch ?? '',
    issueMode: (h.mode as IssueMode | undefined) ?? null,
    totalQuantity: total === UNLIMITED ? null : total,
    dateIssueStart: new Date(Number(h.start)),
    dateIssueEnd: new Date(Number(h.end)),
  };
}

async function copyPersistedUsersToRedis(deps: Deps, couponId: number): Promise<number> {
  let copied = 0;
  for await (const page of repo.listIssuedUsers(deps.db, couponId)) {
    const fields = page.flatMap((i) => [String(i.userId), String(i.dateIssued.getTime())]);
    await deps.redis.hset(deps.keys.users(couponId), ...fields);
    copied += page.length;
  }
  return copied;
}

/**
 * Rebuilds a coupon's Redis state from MySQL, the source of truth: every persisted issue goes back
 * into the users hash first, and the rules last. Until the rules exist the issue script answers
 * "not loaded", so an emptied Redis can never re-open stock that MySQL shows as taken.
 * Returns null when MySQL has no such coupon.
 */
export async function rebuildCouponState(deps: Deps, couponId: number): Promise<RedisRules | null> {
  return withRedisLock(deps.redis, deps.keys.rebuildLock(couponId), REBUILD_LOCK, async () => {
    const loaded = await readRedisRules(deps, couponId);
    if (loaded) return loaded; // another process rebuilt it while we waited for the lock
    const coupon = await repo.findCouponById(deps.db, couponId);
    if (!coupon) return null;
    const copied = await copyPersistedUsersToRedis(deps, couponId);
    await publishCouponRules(deps, coupon);
    deps.log.info({ couponId, copied }, 'rebuilt coupon state in redis from mysql');
    return readRedisRules(deps, couponId);
  });
}

export interface Reconciliation {
  readonly couponId: number;
  /** A SYNC coupon is issued in MySQL alone: Redis holds nothing for it and nothing is compared. */
  readonly issueMode: IssueMode | null;
  /** Reserved in Redis, neither in MySQL nor waiting in the stream: accepted but lost (or dead-lettered). */
  readonly reservedNotPersisted: number[];
  /** In MySQL but unknown to Redis: Redis lost data; left alone, such users could be issued again. */
  readonly persistedNotReserved: number[];
  /** Reserved and still in the stream: on their way, not a difference. */
  readonly queued: number;
  readonly redisCount: number;
  readonly mysqlRows: number;
  readonly mysqlIssuedQuantity: number;
  readonly rulesInRedis: 'match' | 'missing' | 'differ';
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

async function readQueuedUsers(deps: Deps, couponId: number): Promise<Set<number>> {
  const queued = new Set<number>();
  // Acknowledged entries are deleted, so the stream holds exactly what is unread or in a consumer's hands.
  const entries = await deps.redis.xrange(deps.keys.stream(couponId), '-', '+');
  for (const [, fields] of entries) {
    const u = fields[fields.indexOf('u') + 1];
    if (u !== undefined) queued.add(Number(u));
  }
  return queued;
}

/**
 * Compares a coupon's Redis state with MySQL; with repair, brings Redis in line with MySQL.
 * Read order matters: Redis users, then the stream, then MySQL, so that an entry persisted
 * while we read is seen in MySQL rather than mistaken for a lost one.
 */
export async function reconcileCoupon(deps: Deps, couponId: number, opts: { repair?: boolean } = {}): Promise<Reconciliation> {
  const coupon = await repo.findCouponById(deps.db, couponId);
  if (!coupon) throw new CouponNotExistError(couponId);
  if (coupon.issueMode === IssueMode.SYNC) {
    // Only MySQL's own count can disagree here (with its rows); repair recounts it.
    const counts = await repo.countIssues(deps.db, couponId);
    const inAgreement = counts.issuedQuantity === counts.rows;
    if (opts.repair && !inAgreement) await repo.recountIssuedQuantity(deps.db, couponId);
    return {
      couponId, issueMode: coupon.issueMode, reservedNotPersisted: [], persistedNotReserved: [], queued: 0, redisCount: 0,
      mysqlRows: counts.rows, mysqlIssuedQuantity: counts.issuedQuantity ?? 0, rulesInRedis: 'match',
      inAgreement, repaired: opts.repair === true && !inAgreement,
    };
  }
  const rules = await readRedisRules(deps, couponId);
  const redisUsers = await readRedisUsers(deps, couponId);
  const queued = await readQueuedUsers(deps, couponId);
  const mysqlUsers = new Set<number>();
  for await (const page of repo.listIssuedUsers(deps.db, couponId)) for (const i of page) mysqlUsers.add(i.userId);
  const counts = await repo.countIssues(deps.db, couponId);

  const reservedNotPersisted = [...redisUsers].filter((u) => !mysqlUsers.has(u) && !queued.has(u)).sort((a, b) => a - b);
  const persistedNotReserved = [...mysqlUsers].filter((u) => !redisUsers.has(u)).sort((a, b) => a - b);
  // Redis may not know the binding yet (the reserver binds again, harmlessly); it must not claim another.
  const rulesInRedis = rules === null ? 'missing'
    : (rules.issueMode === null || rules.issueMode === coupon.issueMode) && sameIssueTerms(rules, coupon) ? 'match' : 'differ';
  const inAgreement = reservedNotPersisted.length === 0 && persistedNotReserved.length === 0
    && rulesInRedis === 'match' && counts.issuedQuantity === counts.rows;

  let repaired = false;
  if (opts.repair && !inAgreement) {
    if (persistedNotReserved.length) await copyPersistedUsersToRedis(deps, couponId);
    if (reservedNotPersisted.length) await deps.redis.hdel(deps.keys.users(couponId), ...reservedNotPersisted.map(String));
    if (rulesInRedis !== 'match') await publishCouponRules(deps, coupon);
    else await renewEpoch(deps, couponId);
    if (counts.issuedQuantity !== counts.rows) await repo.recountIssuedQuantity(deps.db, couponId);
    repaired = true;
  }
  return {
    couponId, issueMode: coupon.issueMode, reservedNotPersisted, persistedNotReserved, queued: queued.size,
    redisCount: redisUsers.size, mysqlRows: counts.rows, mysqlIssuedQuantity: counts.issuedQuantity ?? 0,
    rulesInRedis, inAgreement, repaired,
  };
}
