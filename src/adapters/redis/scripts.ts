import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, UNLIMITED_TOTAL, type Keys } from './keys.js';

// The .lua files sit beside this module in src/ and, copied by the build, in dist/.
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** The waiting room's shared lazy steps, prepended to each of its scripts (Lua has no include). */
const WAITING_ROOM_COMMON = 'waiting-room-common.lua';
const WR_KEYS = 8;

/** Each script's file and how many of its arguments are keys (the rest are ARGV); `common`: prepend the shared head. */
const SCRIPTS = {
  issueReserve: { file: 'issue-reserve.lua', keys: 3 },
  loadCoupon: { file: 'load-coupon.lua', keys: 3 },
  updateRules: { file: 'update-rules.lua', keys: 2 },
  ackEntries: { file: 'ack-entries.lua', keys: 1 },
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  wrJoin: { file: 'wr-join.lua', keys: WR_KEYS, common: true },
  wrStatus: { file: 'wr-status.lua', keys: WR_KEYS, common: true },
  wrClaimBegin: { file: 'wr-claim-begin.lua', keys: WR_KEYS, common: true },
  wrClaimEnd: { file: 'wr-claim-end.lua', keys: WR_KEYS, common: true },
  wrLoad: { file: 'wr-load.lua', keys: WR_KEYS },
} as const satisfies Record<string, { file: string; keys: number; common?: true }>;

type Raw = (...args: (string | number)[]) => Promise<unknown>;
type RawScripts = Record<keyof typeof SCRIPTS, Raw>;
const readScript = (file: string) => readFileSync(new URL(file, SCRIPTS_DIR), 'utf8');

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

/** The waiting room's ticket states as its scripts store them (waiting-room-common.lua's S). */
export const TicketStateCode = { PRE_QUEUE: 1, WAITING: 2, ADMITTED: 3, CLAIMING: 4, CLAIMED: 5, EXPIRED: 6, SOLD_OUT: 7 } as const;
export type TicketState = keyof typeof TicketStateCode;
const TICKET_STATES = new Map<number, TicketState>(
  Object.entries(TicketStateCode).map(([name, code]) => [code, name as TicketState]),
);

/** The waiting-room scripts' return codes, declared once (each script's header lists its own). */
export const WaitingRoomCode = {
  JOINED: 1, ALREADY_IN_LINE: 2, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, SOLD_OUT: -3, NO_TICKET: -4, OTHER_USER: -5, NOT_ADMITTED: -6,
} as const;
export type WaitingRoomOutcome = keyof typeof WaitingRoomCode;
const WR_OUTCOMES = new Map<number, WaitingRoomOutcome>(
  Object.entries(WaitingRoomCode).map(([name, code]) => [code, name as WaitingRoomOutcome]),
);

/** wr-claim-end.lua's outcomes of an issue attempt. */
export const ClaimSettlement = { ISSUED: 1, ALREADY_HELD: 2, SOLD_OUT: 3, NOT_ISSUED: 4 } as const;
export type ClaimSettlement = keyof typeof ClaimSettlement;

/** One ticket as the scripts see it after their lazy steps. */
export interface TicketView {
  readonly ticket: string;
  readonly userId: number;
  readonly state: TicketState;
  /** 0 while PRE_QUEUE. */
  readonly position: number;
  readonly ahead: number;
  /** Epoch ms; 0 before admission. */
  readonly admittedUntil: number;
  /** The earliest deadline of a held unit (when one may free up), or -1. */
  readonly nextDeadline: number;
  readonly startMs: number;
  readonly endMs: number;
}

export interface WaitingRoomTerms {
  readonly couponId: number;
  /** null: unlimited. */
  readonly totalQuantity: number | null;
  readonly startMs: number;
  readonly endMs: number;
  readonly admissionTtlMs: number;
  readonly preQueueMs: number;
}

function outcomeOf(script: string, code: unknown): WaitingRoomOutcome {
  const outcome = WR_OUTCOMES.get(Number(code));
  if (outcome === undefined) throw new Error(`${script} returned unknown code ${String(code)}`);
  return outcome;
}

function viewOf(r: unknown[]): TicketView {
  const state = TICKET_STATES.get(Number(r[3]));
  if (state === undefined) throw new Error(`waiting room returned unknown ticket state ${String(r[3])}`);
  return {
    ticket: String(r[1]), userId: Number(r[2]), state, position: Number(r[4]), ahead: Number(r[5]),
    admittedUntil: Number(r[6]), nextDeadline: Number(r[7]), startMs: Number(r[8]), endMs: Number(r[9]),
  };
}

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
  /** Joins the waiting room, or finds the user's ticket (wr-join.lua). */
  wrJoin(couponId: number, userId: number, newTicket: string, nowMs: number, seed: number):
    Promise<{ outcome: WaitingRoomOutcome; view?: TicketView }>;
  /** One ticket's state after the lazy steps (wr-status.lua). */
  wrStatus(couponId: number, ticket: string, nowMs: number, seed: number): Promise<{ outcome: WaitingRoomOutcome; view?: TicketView }>;
  /** Starts a claim with an ADMITTED ticket (wr-claim-begin.lua); NOT_ADMITTED comes with the ticket's state. */
  wrClaimBegin(couponId: number, ticket: string, userId: number, nowMs: number, leaseMs: number, seed: number):
    Promise<{ outcome: WaitingRoomOutcome; state?: TicketState }>;
  /** Settles a claim (wr-claim-end.lua); false when the ticket was no longer claiming. */
  wrClaimEnd(couponId: number, ticket: string, settlement: ClaimSettlement): Promise<boolean>;
  /** Writes a queue's terms (wr-load.lua); false when nothing was written. */
  wrLoad(op: 'create' | 'update' | 'reset', terms: WaitingRoomTerms, base: number): Promise<boolean>;
}

/** Registers every script on the client once (ioredis then calls them by SHA, falling back to EVAL). */
export function createScripts(redis: Redis, keys: Keys): Scripts {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    if (name in redis) continue;
    const lua = ('common' in s ? `${readScript(WAITING_ROOM_COMMON)}\n` : '') + readScript(s.file);
    redis.defineCommand(name, { numberOfKeys: s.keys, lua });
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
    async wrJoin(couponId, userId, newTicket, nowMs, seed) {
      const r = (await raw.wrJoin(...keys.waitingRoom(couponId), userId, newTicket, nowMs, seed)) as unknown[];
      const outcome = outcomeOf('wr-join.lua', r[0]);
      return r.length > 1 ? { outcome, view: viewOf(r) } : { outcome };
    },
    async wrStatus(couponId, ticket, nowMs, seed) {
      const r = (await raw.wrStatus(...keys.waitingRoom(couponId), ticket, nowMs, seed)) as unknown[];
      const outcome = outcomeOf('wr-status.lua', r[0]);
      return r.length > 1 ? { outcome, view: viewOf(r) } : { outcome };
    },
    async wrClaimBegin(couponId, ticket, userId, nowMs, leaseMs, seed) {
      const r = (await raw.wrClaimBegin(...keys.waitingRoom(couponId), ticket, userId, nowMs, leaseMs, seed)) as unknown[];
      const outcome = outcomeOf('wr-claim-begin.lua', r[0]);
      return r.length > 1 ? { outcome, state: TICKET_STATES.get(Number(r[1])) } : { outcome };
    },
    async wrClaimEnd(couponId, ticket, settlement) {
      return Number(await raw.wrClaimEnd(...keys.waitingRoom(couponId), ticket, ClaimSettlement[settlement])) === 1;
    },
    async wrLoad(op, t, base) {
      const r = await raw.wrLoad(...keys.waitingRoom(t.couponId), op, t.totalQuantity ?? UNLIMITED_TOTAL, t.startMs, t.endMs,
        t.admissionTtlMs, t.preQueueMs, base);
      return Number(r) === 1;
    },
  };
}
