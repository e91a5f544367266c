import { IssueMode, isWithinIssueWindow, sameIssueTerms, type IssueRules } from '../domain/coupon.js';
import type { ReserveOutcome } from '../adapters/redis/scripts.js';
import { CouponIds } from '../domain/coupon-ids.js';
import * as repo from '../domain/coupon.repository.js';
import type { Deps } from '../deps.js';
import {
  CouponNotExistError, CouponSoldOutError, DuplicatedIssueError, IssueModeMismatchError, IssueWindowClosedError, UnavailableError,
  type CouponError,
} from '../errors.js';
import { waitForReplicas } from '../adapters/redis/client.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { publishIssueMode, readRedisRules, rebuildCouponState, resyncAfterRestart } from './coupon-mirror.js';
import { ReservationMarks } from './loss/reservation-marks.js';
import { watchRedisRestarts, type Affected } from './loss/restart-watch.js';
import { ReservationStreams } from './stream/reservation-streams.js';
import { RulesCache, type CachedRules } from './rules-cache.js';

/** Above this many winners a sold-out coupon is answered by the script, not from memory. */
const MAX_CACHED_WINNERS = 100_000;
const CACHE_TTL_MS = 1000;
const MAX_CACHED_COUPONS = 10_000;

export interface Reserver {
  /**
   * Reserves a unit for the user and queues it for MySQL: resolves null, or with the business reason
   * it was refused (an answer, not a fault: the flood's hot path replies without throwing). Rejects
   * only on faults, such as Redis out of reach.
   */
  decide(couponId: number, userId: number, ip?: string): Promise<CouponError | null>;
  /**
   * decide()'s refusal when this process's cache alone gives it (sold out, outside the window, bound
   * to the sync path), without a promise; undefined when Redis has to be asked.
   */
  cachedRefusal(couponId: number, userId: number): CouponError | undefined;
  /** decide(), with the refusal thrown. */
  reserve(couponId: number, userId: number, ip?: string): Promise<void>;
  /** Flushes the counts of reservations seen to MySQL and stops flushing them. */
  close(): Promise<void>;
}

export interface ReserverOptions {
  /** Counted inside the reserve script, so the limits cost no extra round trip. */
  readonly limiter?: RateLimiter;
  /** Sold-out coupons' winners held in memory over all coupons (least recently used go first); 0: none. Default: SOLD_OUT_CACHE_WINNERS. */
  readonly soldOutWinners?: number;
}

/** Runs fn once per key at a time; concurrent callers share its promise. */
function singleFlight<K, T>(): (key: K, fn: () => Promise<T>) => Promise<T> {
  const inFlight = new Map<K, Promise<T>>();
  return (key, fn) => {
    let p = inFlight.get(key);
    if (!p) {
      p = fn().finally(() => inFlight.delete(key));
      inFlight.set(key, p);
    }
    return p;
  };
}

/**
 * The async hot path: decided in Redis by one script. MySQL is asked only once per coupon (to bind
 * it to this path), to rebuild a coupon Redis lost, and at most once a second for the largest id.
 */
export function createReserver(deps: Deps, opts: ReserverOptions = {}): Reserver {
  const limiter = opts.limiter?.enabled ? opts.limiter : undefined;
  const cache = new RulesCache(CACHE_TTL_MS, MAX_CACHED_COUPONS, opts.soldOutWinners ?? deps.config.soldOutCacheWinners);
  const once = singleFlight<string, unknown>();
  const marks = new ReservationMarks(deps);
  // A restarted Redis, or a cluster master replaced by its replica, may have lost reservations
  // without losing the coupon (no rebuild then): check the coupons it serves at once.
  const resyncAll = async (affected: Affected) => {
    const coupons = new Set([...marks.coupons(), ...await new ReservationStreams(deps).activeCoupons()]);
    for (const couponId of coupons) {
      if (!affected(deps.keys.rules(couponId))) continue;
      // Forgotten after, not before: until the persisted users are back, the cached sold-out answer
      // must hold, or the script would sell what MySQL already holds (and MySQL would refuse it).
      await resyncAfterRestart(deps, couponId, marks);
      cache.forget(couponId);
    }
  };
  const unwatch = watchRedisRestarts(
    deps.redis,
    resyncAll,
    (err) => deps.log.warn({ err: err.message }, 'redis restart check or resync failed; tried again at the next check (coupon reconcile tells what was lost)'),
  );
  const couponIds = new CouponIds(deps.db);
  const { redisWaitReplicas: waitReplicas, redisWaitTimeoutMs: waitTimeoutMs } = deps.config;
  let unreplicated = { count: 0, toldAt: 0 };
  /**
   * The opt-in WAIT: the 202 goes once a replica holds the reservation, so a failover promoting it
   * keeps it. Past the timeout the 202 goes anyway (the reservation is made; refusing it now would
   * turn it into a unit sold to nobody the user knows of), told at most once a second.
   */
  const replicate = async (couponId: number): Promise<void> => {
    const acked = await waitForReplicas(deps.redis, deps.keys.rules(couponId), waitReplicas, waitTimeoutMs).catch(() => 0);
    if (acked >= waitReplicas) return;
    unreplicated.count++;
    if (Date.now() - unreplicated.toldAt < 1000) return;
    deps.log.warn({ couponId, reservations: unreplicated.count, replicas: waitReplicas, timeoutMs: waitTimeoutMs },
      'reservations answered 202 before a replica acknowledged them (REDIS_WAIT_REPLICAS): a failover now may lose them');
    unreplicated = { count: 0, toldAt: Date.now() };
  };

  const loadRules = async (couponId: number, previous: CachedRules | undefined): Promise<Omit<CachedRules, 'expiresAt'>> => {
    const startedAt = Date.now();
    let rules = await readRedisRules(deps, couponId);
    if (!rules) {
      if (!(await couponIds.mayExist(couponId, startedAt))) return { rules: null };
      rules = await rebuildCouponState(deps, couponId, marks);
      if (!rules) return { rules: null };
    }
    // A sold-out coupon's winners hold while its terms and the users hash's epoch are unchanged:
    // reservations only add members, and whatever removes some (rebuild, repair) renews the epoch.
    const soldOut = previous?.soldOut;
    if (soldOut && previous.rules && sameIssueTerms(previous.rules, rules) && soldOut.epoch === rules.epoch) {
      return { rules, soldOut };
    }
    return { rules };
  };

  /**
   * The first async request inside the window binds the coupon to this path in MySQL, where the
   * sync path sees it. Returns the rules with the mode it is bound to (null: the coupon is gone).
   */
  const bindToAsync = async (rules: IssueRules): Promise<IssueRules | null> => {
    const mode = (await once(`bind:${rules.id}`, async () => {
      const bound = await repo.bindAsyncMode(deps.db, rules.id);
      if (bound) await publishIssueMode(deps, rules.id, bound);
      return bound;
    })) as IssueMode | null;
    if (mode === null) return null;
    const bound = { ...rules, issueMode: mode };
    cache.set(rules.id, { rules: bound });
    return bound;
  };

  /**
   * Once sold out the winners can no longer change (until a reconcile repair frees a slot, which
   * the HLEN check on reload notices), so they answer both "duplicated" and "sold out" locally.
   */
  const snapshotWinners = (rules: IssueRules): void => {
    if (rules.totalQuantity === null || rules.totalQuantity > MAX_CACHED_WINNERS || !cache.mayHoldWinners(rules.id)) return;
    once(`winners:${rules.id}`, async () => {
      // One transaction (same hash slot), so the epoch is the one these winners belong to.
      const replies = await deps.redis.multi().hget(deps.keys.rules(rules.id), 'epoch').hkeys(deps.keys.users(rules.id)).exec();
      const [[, epoch], [, users]] = replies as [[null, string | null], [null, string[]]];
      cache.set(rules.id, {
        rules,
        soldOut: { epoch: epoch ?? '', winners: new Set(users.map(Number)), refusal: new CouponSoldOutError(rules.id) },
      });
    }).catch(() => undefined); // only an optimisation: the script still answers correctly
  };

  /** The refusal a cached entry gives by itself (the script's checks, same order); undefined: ask the script. */
  const refusalOf = (entry: CachedRules, couponId: number, userId: number, now: Date): CouponError | undefined => {
    const rules = entry.rules;
    if (rules === null) return new CouponNotExistError(couponId);
    if (rules.issueMode === IssueMode.SYNC) return new IssueModeMismatchError(couponId, IssueMode.SYNC);
    if (!isWithinIssueWindow(rules, now)) return new IssueWindowClosedError(couponId);
    if (entry.soldOut) {
      return entry.soldOut.winners.has(userId) ? new DuplicatedIssueError(couponId, userId) : entry.soldOut.refusal;
    }
    return undefined;
  };

  /** The script's code, or a refusal decided from the cache. */
  const decideOnce = async (couponId: number, userId: number, ip: string, now: Date): Promise<ReserveOutcome | CouponError> => {
    const entry = cache.peek(couponId) ?? await cache.get(couponId, (previous) => loadRules(couponId, previous));
    const refusal = refusalOf(entry, couponId, userId, now);
    if (refusal !== undefined || entry.rules === null) return refusal ?? new CouponNotExistError(couponId);
    let rules = entry.rules;
    if (rules.issueMode === null) {
      const bound = await bindToAsync(rules);
      if (bound === null) return new CouponNotExistError(couponId);
      if (bound.issueMode === IssueMode.SYNC) return new IssueModeMismatchError(couponId, IssueMode.SYNC);
      rules = bound;
    }
    // Refusals answered from memory above are not counted: they cost no storage, which the limits guard.
    const nowMs = now.getTime();
    const remembered = limiter?.remembered(couponId, userId, ip, nowMs);
    if (remembered) return remembered;
    const { outcome, held } = await deps.scripts.issueReserve(couponId, userId, nowMs, limiter?.args(ip));
    if (outcome === 'RESERVED') {
      marks.note(couponId, held);
      if (waitReplicas > 0) await replicate(couponId);
    } else if (outcome === 'SOLD_OUT') snapshotWinners(rules);
    return limiter?.note(outcome, couponId, userId, ip, nowMs) ?? outcome;
  };

  const decide = async (couponId: number, userId: number, ip = '-'): Promise<CouponError | null> => {
    const now = deps.now();
    let outcome = await decideOnce(couponId, userId, ip, now);
    if (outcome === 'NOT_LOADED') {
      // Redis lost the coupon since we cached it: rebuild from MySQL, then decide again.
      cache.forget(couponId);
      outcome = await decideOnce(couponId, userId, ip, now);
    }
    if (typeof outcome !== 'string') return outcome;
    switch (outcome) {
      case 'RESERVED': return null;
      case 'OUTSIDE_WINDOW': return new IssueWindowClosedError(couponId);
      case 'DUPLICATED': return new DuplicatedIssueError(couponId, userId);
      case 'SOLD_OUT': return new CouponSoldOutError(couponId);
      case 'NOT_LOADED': throw new UnavailableError(`coupon ${couponId} is being reloaded into redis, try again`);
      // Only reached without a limiter, which never asks the script to count.
      case 'RATE_LIMITED_USER': case 'RATE_LIMITED_IP': throw new Error(`issue-reserve.lua answered ${outcome} with limits off`);
    }
  };

  return {
    decide,
    cachedRefusal(couponId, userId) {
      const entry = cache.peek(couponId);
      return entry && refusalOf(entry, couponId, userId, deps.now());
    },
    async reserve(couponId, userId, ip) {
      const refusal = await decide(couponId, userId, ip);
      if (refusal) throw refusal;
    },
    close() {
      unwatch();
      return marks.close();
    },
  };
}
