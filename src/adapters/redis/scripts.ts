import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, UNLIMITED_TOTAL, type Keys } from './keys.js';

// The .lua files sit beside this module in src/ and, copied by the build, in dist/.
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** Each script's file and how many of its arguments are keys (the rest are ARGV). */
const SCRIPTS = {
  issueReserve: { file: 'issue-reserve.lua', keys: 3 },
  loadCoupon: { file: 'load-coupon.lua', keys: 3 },
  ackEntries: { file: 'ack-entries.lua', keys: 1 },
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  updateRules: { file: 'update-rules.lua', keys: 2 },
  releaseReservation: { file: 'release-reservation.lua', keys: 2 },
  requeueReservation: { file: 'requeue-reservation.lua', keys: 3 },
} as const;

type Raw = (...args: (string | number)[]) => Promise<unknown>;
type RawScripts = Record<keyof typeof SCRIPTS, Raw>;

/** issue-reserve.lua's return codes, declared once: the script's header lists the same (RESERVED: any count above 0). */
export const ReserveCode = { RESERVED: 1, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, DUPLICATED: -3, SOLD_OUT: -4 } as const;
export type ReserveOutcome = keyof typeof ReserveCode;
const RESERVE_OUTCOMES = new Map<number, ReserveOutcome>(
  Object.entries(ReserveCode).map(([name, code]) => [code, name as ReserveOutcome]),
);

export interface ReserveReply {
  readonly outcome: ReserveOutcome;
  /** RESERVED: the units the coupon's users hash holds now, this one included; 0 otherwise. */
  readonly held: number;
}

/** update-rules.lua's return codes (its header lists the same). */
export const UpdateRulesCode = { APPLIED: 1, NOT_LOADED: -1, BELOW_RESERVED: -2 } as const;
export type UpdateRulesOutcome = keyof typeof UpdateRulesCode;

export interface CouponTerms {
  readonly couponId: number;
  /** null: unlimited. */
  readonly totalQuantity: number | null;
  readonly startMs: number;
  readonly endMs: number;
}

/** release-reservation.lua's answers. */
export const ReleaseCode = { RELEASED: 1, NOT_HELD: 0, NOT_LOADED: -1 } as const;
export type ReleaseOutcome = keyof typeof ReleaseCode;

/** requeue-reservation.lua's answers. */
export const RequeueCode = { QUEUED: 1, NOT_LOADED: -1, SUPERSEDED: -3, SOLD_OUT: -4 } as const;
export type RequeueOutcome = keyof typeof RequeueCode;

function outcomeOf<K extends string>(codes: Record<K, number>, script: string, code: number): K {
  for (const [name, c] of Object.entries(codes) as [K, number][]) if (c === code) return name;
  throw new Error(`${script} returned unknown code ${code}`);
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
  issueReserve(couponId: number, userId: number, nowMs: number): Promise<ReserveReply>;
  /** Publishes a coupon's rules and makes sure its stream has the consumer group (load-coupon.lua). */
  loadCoupon(rules: CouponRulesToLoad): Promise<void>;
  /** Acknowledges committed entries and deletes them from the stream; returns how many (ack-entries.lua). */
  ackEntries(couponId: number, entryIds: readonly string[]): Promise<number>;
  /** Deletes a lock only if the token still owns it (release-lock.lua). */
  releaseLock(lockKey: string, token: string): Promise<boolean>;
  /**
   * Sets a loaded coupon's total and window, the total only if the units reserved fit under it
   * (update-rules.lua); `taken` is the number of units reserved.
   */
  updateRules(terms: CouponTerms, epoch: string): Promise<{ outcome: UpdateRulesOutcome; taken: number }>;
  /** Frees the unit of a given-up reservation, if that reservation still holds it (release-reservation.lua). */
  releaseReservation(couponId: number, userId: number, reservedAtMs: number, newEpoch: string): Promise<ReleaseOutcome>;
  /** Queues a failed issue again, taking its unit back if still free (requeue-reservation.lua). */
  requeueReservation(couponId: number, userId: number, reservedAtMs: number): Promise<RequeueOutcome>;
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
      if (code > 0) return { outcome: 'RESERVED', held: code };
      const outcome = RESERVE_OUTCOMES.get(code);
      if (outcome === undefined) throw new Error(`issue-reserve.lua returned unknown code ${code}`);
      return { outcome, held: 0 };
    },
    async loadCoupon(r) {
      await raw.loadCoupon(
        keys.rules(r.couponId), keys.stream(r.couponId), keys.users(r.couponId),
        r.totalQuantity ?? UNLIMITED_TOTAL, r.startMs, r.endMs, CONSUMER_GROUP, r.issueMode ?? '', r.resetFirst ? '1' : '0', r.epoch,
      );
    },
    async ackEntries(couponId, entryIds) {
      if (entryIds.length === 0) return 0;
      return Number(await raw.ackEntries(keys.stream(couponId), CONSUMER_GROUP, ...entryIds));
    },
    async releaseLock(lockKey, token) {
      return Number(await raw.releaseLock(lockKey, token)) === 1;
    },
    async updateRules(t, epoch) {
      const [code, taken] = (await raw.updateRules(
        keys.rules(t.couponId), keys.users(t.couponId), t.totalQuantity ?? UNLIMITED_TOTAL, t.startMs, t.endMs, epoch,
      )) as [number, number];
      return { outcome: outcomeOf(UpdateRulesCode, 'update-rules.lua', Number(code)), taken: Number(taken) };
    },
    async releaseReservation(couponId, userId, reservedAtMs, newEpoch) {
      const code = Number(await raw.releaseReservation(keys.rules(couponId), keys.users(couponId), userId, reservedAtMs, newEpoch));
      return outcomeOf(ReleaseCode, 'release-reservation.lua', code);
    },
    async requeueReservation(couponId, userId, reservedAtMs) {
      const code = Number(await raw.requeueReservation(keys.rules(couponId), keys.users(couponId), keys.stream(couponId), userId, reservedAtMs));
      return outcomeOf(RequeueCode, 'requeue-reservation.lua', code);
    },
  };
}
