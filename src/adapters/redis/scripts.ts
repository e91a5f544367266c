import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, UNLIMITED_TOTAL, type Keys } from './keys.js';

// The .lua files sit beside this module in src/ and, copied by the build, in dist/.
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** Each script's file and how many of its arguments are keys (the rest are ARGV). */
const SCRIPTS = {
  issueReserve: { file: 'issue-reserve.lua', keys: 3 },
  loadCoupon: { file: 'load-coupon.lua', keys: 3 },
  updateRules: { file: 'update-rules.lua', keys: 2 },
  ackEntries: { file: 'ack-entries.lua', keys: 1 },
  releaseLock: { file: 'release-lock.lua', keys: 1 },
} as const;

type Raw = (...args: (string | number)[]) => Promise<unknown>;
type RawScripts = Record<keyof typeof SCRIPTS, Raw>;

/** issue-reserve.lua's return codes, declared once: the script's header lists the same. */
export const ReserveCode = { RESERVED: 1, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, DUPLICATED: -3, SOLD_OUT: -4 } as const;
export type ReserveOutcome = keyof typeof ReserveCode;
const RESERVE_OUTCOMES = new Map<number, ReserveOutcome>(
  Object.entries(ReserveCode).map(([name, code]) => [code, name as ReserveOutcome]),
);

/** update-rules.lua's return codes (its header lists the same). */
export const UpdateRulesCode = { APPLIED: 1, NOT_LOADED: -1, BELOW_RESERVED: -2 } as const;
export type UpdateRulesOutcome = keyof typeof UpdateRulesCode;
const UPDATE_RULES_OUTCOMES = new Map<number, UpdateRulesOutcome>(
  Object.entries(UpdateRulesCode).map(([name, code]) => [code, name as UpdateRulesOutcome]),
);

export interface CouponTerms {
  readonly couponId: number;
  /** null: unlimited. */
  readonly totalQuantity: number | null;
  readonly startMs: number;
  readonly endMs: number;
}

export interface CouponRulesToLoad {
  readonly couponId: number;
  /** null: unlimited. */
  readonly totalQuantity: number | null;
  readonly startMs: number;
  readonly endMs: number;
  /** The path the coupon is bound to, or null while unbound. */
  readonly issueMode: string | null;
  /** Delete whatever Redis holds under this id first (a new coupon reusing an old database's id). */
  readonly resetFirst: boolean;
  /** Renewed whenever the users hash may have lost members. */
  readonly epoch: string;
}

/** One typed function per Lua script; the scripts themselves say what each does atomically. */
export interface Scripts {
  /** Decides one async issue and queues it in the coupon's stream (issue-reserve.lua). */
  issueReserve(couponId: number, userId: number, nowMs: number): Promise<ReserveOutcome>;
  /** Publishes a coupon's rules and makes sure its stream has the consumer group (load-coupon.lua). */
  loadCoupon(rules: CouponRulesToLoad): Promise<void>;
  /**
   * Sets a loaded coupon's total and window, the total only if the units reserved fit under it
   * (update-rules.lua); `taken` is the number of units reserved.
   */
  updateRules(terms: CouponTerms, epoch: string): Promise<{ outcome: UpdateRulesOutcome; taken: number }>;
  /** Acknowledges committed entries and deletes them from the stream; returns how many (ack-entries.lua). */
  ackEntries(couponId: number, entryIds: readonly string[]): Promise<number>;
  /** Deletes a lock only if the token still owns it (release-lock.lua). */
  releaseLock(lockKey: string, token: string): Promise<boolean>;
}

/** Registers every script on the client once (ioredis then calls them by SHA, falling back to EVAL). */
export function createScripts(redis: Redis, keys: Keys): Scripts {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    if (name in redis) continue;
    redis.defineCommand(name, { numberOfKeys: s.keys, lua: readFileSync(new URL(s.file, SCRIPTS_DIR), 'utf8') });
  }
  const raw = redis as unknown as RawScripts;
  return {
    async issueReserve(couponId, userId, nowMs) {
      const code = Number(await raw.issueReserve(keys.rules(couponId), keys.users(couponId), keys.stream(couponId), userId, nowMs));
      const outcome = RESERVE_OUTCOMES.get(code);
      if (outcome === undefined) throw new Error(`issue-reserve.lua returned unknown code ${code}`);
      return outcome;
    },
    async loadCoupon(r) {
      await raw.loadCoupon(
        keys.rules(r.couponId), keys.stream(r.couponId), keys.users(r.couponId),
        r.totalQuantity ?? UNLIMITED_TOTAL, r.startMs, r.endMs, CONSUMER_GROUP, r.issueMode ?? '', r.resetFirst ? '1' : '0', r.epoch,
      );
    },
    async updateRules(t, epoch) {
      const [code, taken] = (await raw.updateRules(
        keys.rules(t.couponId), keys.users(t.couponId), t.totalQuantity ?? UNLIMITED_TOTAL, t.startMs, t.endMs, epoch,
      )) as [number, number];
      const outcome = UPDATE_RULES_OUTCOMES.get(Number(code));
      if (outcome === undefined) throw new Error(`update-rules.lua returned unknown code ${code}`);
      return { outcome, taken: Number(taken) };
    },
    async ackEntries(couponId, entryIds) {
      if (entryIds.length === 0) return 0;
      return Number(await raw.ackEntries(keys.stream(couponId), CONSUMER_GROUP, ...entryIds));
    },
    async releaseLock(lockKey, token) {
      return Number(await raw.releaseLock(lockKey, token)) === 1;
    },
  };
}
