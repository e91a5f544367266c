import { randomUUID } from 'node:crypto';
import { IssueMode, type IssueRules } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import type { Reservations } from '../domain/coupon.service.js';
import type { Deps } from '../deps.js';
import { UNLIMITED_TOTAL } from '../adapters/redis/keys.js';
import { withRedisLock } from '../adapters/redis/lock.js';
import { assessLoss, reportLoss } from './loss/lost-reservations.js';
import type { ReservationMarks } from './loss/reservation-marks.js';
import { ReservationStreams } from './stream/reservation-streams.js';

const REBUILD_LOCK = { leaseMs: 60_000, waitMs: 15_000 } as const;

/**
 * Writes a coupon's issue rules to Redis (with its stream and consumer group), listed for the
 * consumers if it is bound to the async path. Listed first: rules without the listing would accept
 * entries no consumer reads. An unbound coupon is listed when the async path binds it (publishIssueMode).
 */
export async function publishCouponRules(deps: Deps, c: IssueRules, opts: { justCreated?: boolean } = {}): Promise<void> {
  if (c.issueMode === IssueMode.ASYNC) await new ReservationStreams(deps).activate(c.id);
  await deps.scripts.loadCoupon({
    couponId: c.id, totalQuantity: c.totalQuantity, startMs: c.dateIssueStart.getTime(), endMs: c.dateIssueEnd.getTime(),
    issueMode: c.issueMode, resetFirst: opts.justCreated === true, epoch: randomUUID(),
  });
}

/** Marks the users hash as changed by something other than reservations (a repair freed or restored members). */
export async function renewEpoch(deps: Deps, couponId: number): Promise<void> {
  await deps.redis.hset(deps.keys.rules(couponId), 'epoch', randomUUID());
}

/**
 * Records in Redis the path a coupon is bound to (MySQL holds the binding; this saves asking it
 * again). Bound to async, it is listed for the consumers first: only the async path queues entries,
 * so the consumers read no stream of a sync coupon.
 */
export async function publishIssueMode(deps: Deps, couponId: number, mode: IssueMode): Promise<void> {
  if (mode === IssueMode.ASYNC) await new ReservationStreams(deps).activate(couponId);
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
    totalQuantity: total === UNLIMITED_TOTAL ? null : total,
    dateIssueStart: new Date(Number(h.start)),
    dateIssueEnd: new Date(Number(h.end)),
  };
}

export async function copyPersistedUsersToRedis(deps: Deps, couponId: number): Promise<number> {
  let copied = 0;
  for await (const page of repo.listIssuedUsers(deps.db, couponId)) {
    const fields = page.flatMap((i) => [String(i.userId), String(i.dateIssued.getTime())]);
    await deps.redis.hset(deps.keys.users(couponId), ...fields);
    copied += page.length;
  }
  return copied;
}

/** Serialises whatever rewrites a coupon's Redis state from MySQL: rebuild, repair, an admin's change of terms. */
export function withCouponStateLock<T>(deps: Deps, couponId: number, fn: () => Promise<T>): Promise<T> {
  return withRedisLock(deps, deps.keys.rebuildLock(couponId), REBUILD_LOCK, fn);
}

/**
 * Rebuilds a coupon's Redis state from MySQL, the source of truth: every persisted issue goes back
 * into the users hash first, and the rules last. Until the rules exist the issue script answers
 * "not loaded", so an emptied Redis can never re-open stock that MySQL shows as taken.
 * Leaves a trace of what Redis lost: the count of reservations seen before (`marks`, and MySQL's
 * copy of them) against what survived. Returns null when MySQL has no such coupon.
 */
export async function rebuildCouponState(deps: Deps, couponId: number, marks?: ReservationMarks): Promise<RedisRules | null> {
  return withCouponStateLock(deps, couponId, async () => {
    const loaded = await readRedisRules(deps, couponId);
    if (loaded) return loaded; // another process rebuilt it while we waited for the lock
    const coupon = await repo.findCouponById(deps.db, couponId);
    if (!coupon) return null;
    const copied = await copyPersistedUsersToRedis(deps, couponId);
    await publishCouponRules(deps, coupon);
    const loss = await assessLoss(deps, couponId, { marks });
    await reportLoss(deps, loss, `rebuilt coupon ${couponId}'s state in redis from mysql (${copied} persisted users copied)`, marks);
    return readRedisRules(deps, couponId);
  });
}

/**
 * After Redis restarted: a coupon it lost whole is rebuilt; otherwise (it kept part, as in the
 * everysec window) MySQL's users are put back into the users hash (the lost part may include
 * persisted ones, who would otherwise be let in twice) and the epoch renewed. Either way the loss
 * is told, from the reservations seen before.
 */
export async function resyncAfterRestart(deps: Deps, couponId: number, marks?: ReservationMarks): Promise<void> {
  if (!(await readRedisRules(deps, couponId))) {
    await rebuildCouponState(deps, couponId, marks);
    return;
  }
  await withRedisLock(deps, deps.keys.rebuildLock(couponId), REBUILD_LOCK, async () => {
    const copied = await copyPersistedUsersToRedis(deps, couponId);
    // Counted and told before the epoch is renewed: until then a sold-out coupon's cached answer still
    // refuses everyone, so what the users hash holds is what survived, not units already sold again.
    const loss = await assessLoss(deps, couponId, { marks });
    await reportLoss(deps, loss, `redis restarted; coupon ${couponId} checked against mysql (${copied} persisted users put back)`, marks);
    await renewEpoch(deps, couponId);
  });
}

/** The domain's view of the async path: what it asks of Redis, and nothing more. */
export function reservationsOf(deps: Deps): Reservations {
  return {
    couponCreated: (coupon) => publishCouponRules(deps, coupon, { justCreated: true }),
    async reservedAt(couponId, userId) {
      const at = await deps.redis.hget(deps.keys.users(couponId), String(userId));
      return at === null ? null : new Date(Number(at));
    },
    // The rebuild's own lock: a rebuild waiting on it reads MySQL only after the change is written.
    whileRebuildHeld: (couponId, fn) => withCouponStateLock(deps, couponId, fn),
    // The issue script reads the terms on every call, so a lower total holds from this reply on; the
    // API processes' rules caches (1 s) drop a sold-out winners list once the terms or epoch change.
    changeTerms: (c) => deps.scripts.updateRules(
      { couponId: c.id, totalQuantity: c.totalQuantity, startMs: c.dateIssueStart.getTime(), endMs: c.dateIssueEnd.getTime() },
      randomUUID(),
    ),
  };
}
