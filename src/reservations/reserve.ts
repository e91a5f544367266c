import { assertWithinIssueWindow, type IssueRules } from '../coupons/coupon.js';
import type { Deps } from '../deps.js';
import { CouponNotExistError, CouponSoldOutError, DuplicatedIssueError, IssueWindowClosedError, UnavailableError } from '../errors.js';
import { readRedisRules, rebuildCouponState } from './coupon-state.js';
import { RulesCache } from './rules-cache.js';

/** Return codes of issue-reserve.lua, turned into errors in one place. */
const ReserveCode = { RESERVED: 1, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, DUPLICATED: -3, SOLD_OUT: -4 } as const;

/** Above this many winners a sold-out coupon is answered by the script, not from memory. */
const MAX_CACHED_WINNERS = 100_000;
const CACHE_TTL_MS = 1000;

export interface Reserver {
  /** Reserves a unit for the user and queues it for MySQL, or throws the typed reason it cannot. */
  reserve(couponId: number, userId: number): Promise<void>;
}

/**
 * The async hot path: decided in Redis by one script, never touching MySQL except to rebuild a
 * coupon Redis does not know (a new process after Redis lost its data, or an unknown id).
 */
export function createReserver(deps: Deps): Reserver {
  const cache = new RulesCache(CACHE_TTL_MS);
  const snapshotting = new Set<number>();

  const loadRules = async (couponId: number): Promise<IssueRules | null> =>
    (await readRedisRules(deps, couponId)) ?? rebuildCouponState(deps, couponId);

  /**
   * Once sold out the winners can no longer change (until a reconcile repair frees a slot,
   * which the cache's TTL bounds), so they can answer both "duplicated" and "sold out" locally.
   */
  const snapshotWinners = (couponId: number, rules: IssueRules): void => {
    if (snapshotting.has(couponId) || rules.totalQuantity === null || rules.totalQuantity > MAX_CACHED_WINNERS) return;
    snapshotting.add(couponId);
    deps.redis.hkeys(deps.keys.users(couponId))
      .then((users) => cache.markSoldOut(couponId, new Set(users.map(Number))))
      .catch(() => undefined) // only an optimisation: the script still answers correctly
      .finally(() => snapshotting.delete(couponId));
  };

  const reserveOnce = async (couponId: number, userId: number, now: Date): Promise<number> => {
    const entry = await cache.get(couponId, () => loadRules(couponId));
    if (entry.rules === null) throw new CouponNotExistError(couponId);
    assertWithinIssueWindow(entry.rules, now);
    if (entry.winners) {
      if (entry.winners.has(userId)) throw new DuplicatedIssueError(couponId, userId);
      throw new CouponSoldOutError(couponId);
    }
    const code = Number(await deps.redis.issueReserve(
      deps.keys.rules(couponId), deps.keys.users(couponId), deps.keys.stream(couponId), userId, now.getTime(),
    ));
    if (code === ReserveCode.SOLD_OUT) snapshotWinners(couponId, entry.rules);
    return code;
  };

  return {
    async reserve(couponId, userId) {
      const now = deps.now();
      let code = await reserveOnce(couponId, userId, now);
      if (code === ReserveCode.NOT_LOADED) {
        // Redis lost the coupon since we cached it: rebuild from MySQL, then decide again.
        cache.forget(couponId);
        code = await reserveOnce(couponId, userId, now);
      }
      switch (code) {
        case ReserveCode.RESERVED: return;
        case ReserveCode.OUTSIDE_WINDOW: throw new IssueWindowClosedError(couponId);
        case ReserveCode.DUPLICATED: throw new DuplicatedIssueError(couponId, userId);
        case ReserveCode.SOLD_OUT: throw new CouponSoldOutError(couponId);
        case ReserveCode.NOT_LOADED: throw new UnavailableError(`coupon ${couponId} is being reloaded into redis, try again`);
        default: throw new Error(`issue-reserve.lua returned unknown code ${code}`);
      }
    },
  };
}
