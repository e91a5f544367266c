import { readFileSync } from 'node:fs';
import type { Redis } from './client.js';
import { CONSUMER_GROUP, UNLIMITED_TOTAL, type Keys } from './keys.js';

// The .lua files sit beside this module in src/ and, copied by the build, in dist/.
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** The waiting room's scripts take the 8 keys of keys.waitingRoom(). */
const WR_KEYS = 8;

/** Each script's file and how many of its arguments are keys (the rest are ARGV). */
const SCRIPTS = {
  issueReserve: { file: 'issue-reserve.lua', keys: 5 },
  checkRateLimits: { file: 'check-rate-limits.lua', keys: 2 },
  loadCoupon: { file: 'load-coupon.lua', keys: 3 },
  ackEntries: { file: 'ack-entries.lua', keys: 1 },
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  updateRules: { file: 'update-rules.lua', keys: 2 },
  releaseReservation: { file: 'release-reservation.lua', keys: 2 },
  requeueReservation: { file: 'requeue-reservation.lua', keys: 3 },
  wrJoin: { file: 'wr-join.lua', keys: WR_KEYS },
  wrStatus: { file: 'wr-status.lua', keys: WR_KEYS },
  wrClaimBegin: { file: 'wr-claim-begin.lua', keys: WR_KEYS },
  wrClaimEnd: { file: 'wr-claim-end.lua', keys: WR_KEYS },
  wrLoad: { file: 'wr-load.lua', keys: WR_KEYS },
  addLiveSecond: { file: 'add-live-second.lua', keys: 1 },
  readBacklog: { file: 'read-backlog.lua', keys: 2 },
} as const;

type Raw = (...args: (string | number)[]) => Promise<unknown>;
type RawScripts = Record<keyof typeof SCRIPTS, Raw>;

/** `-- @include NAME.lua` lines are replaced by that file (shared Lua functions, as BullMQ's includes). */
function readLua(file: string): string {
  return readFileSync(new URL(file, SCRIPTS_DIR), 'utf8')
    .replace(/^-- @include ([a-z-]+\.lua)$/gm, (_, included: string) => readFileSync(new URL(included, SCRIPTS_DIR), 'utf8'));
}

/** rate-limit.lua's codes, shared by the scripts that include it (their headers list the same). */
export const RateLimitCode = { PASSED: 0, RATE_LIMITED_USER: -5, RATE_LIMITED_IP: -6 } as const;
export type RateLimitOutcome = keyof typeof RateLimitCode;

/** issue-reserve.lua's return codes, declared once: the script's header lists the same (RESERVED: any count above 0). */
export const ReserveCode = {
  RESERVED: 1, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, DUPLICATED: -3, SOLD_OUT: -4,
  RATE_LIMITED_USER: RateLimitCode.RATE_LIMITED_USER, RATE_LIMITED_IP: RateLimitCode.RATE_LIMITED_IP,
} as const;
export type ReserveOutcome = keyof typeof ReserveCode;

function decoder<T extends string>(codes: Record<T, number>, script: string): (reply: unknown) => T {
  const outcomes = new Map<number, T>(Object.entries<number>(codes).map(([name, code]) => [code, name as T]));
  return (reply) => {
    const outcome = outcomes.get(Number(reply));
    if (outcome === undefined) throw new Error(`${script} returned unknown code ${String(reply)}`);
    return outcome;
  };
}
const reserveOutcome = decoder(ReserveCode, 'issue-reserve.lua');
const rateLimitOutcome = decoder(RateLimitCode, 'check-rate-limits.lua');

/** Requests per second allowed on a coupon, per user and per client address (0 = no limit). */
export interface RateLimitArgs {
  readonly ip: string;
  readonly perUser: number;
  readonly perIp: number;
}

export const NO_RATE_LIMITS: RateLimitArgs = { ip: '-', perUser: 0, perIp: 0 };

export interface ReserveReply {
  readonly outcome: ReserveOutcome;
  /** RESERVED: the units the coupon's users hash holds now, this one included; 0 otherwise. */
  readonly held: number;
}

/** update-rules.lua's return codes (its header lists the same). */
export const UpdateRulesCode = { APPLIED: 1, NOT_LOADED: -1, BELOW_RESERVED: -2 } as const;
export type UpdateRulesOutcome = keyof typeof UpdateRulesCode;

/** The waiting room's ticket states as its scripts store them (waiting-room-common.lua's S). */
export const TicketStateCode = { PRE_QUEUE: 1, WAITING: 2, ADMITTED: 3, CLAIMING: 4, CLAIMED: 5, EXPIRED: 6, SOLD_OUT: 7 } as const;
export type TicketState = keyof typeof TicketStateCode;

/** The waiting-room scripts' return codes, declared once (each script's header lists its own). */
export const WaitingRoomCode = {
  JOINED: 1, ALREADY_IN_LINE: 2, NOT_LOADED: -1, OUTSIDE_WINDOW: -2, SOLD_OUT: -3, NO_TICKET: -4, OTHER_USER: -5, NOT_ADMITTED: -6,
} as const;
export type WaitingRoomOutcome = keyof typeof WaitingRoomCode;

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

const ticketState = decoder(TicketStateCode, 'the waiting room (ticket state)');
const waitingRoomOutcome = decoder(WaitingRoomCode, 'a waiting-room script');

function viewOf(r: unknown[]): TicketView {
  return {
    ticket: String(r[1]), userId: Number(r[2]), state: ticketState(r[3]), position: Number(r[4]), ahead: Number(r[5]),
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

/** release-reservation.lua's answers. */
export const ReleaseCode = { RELEASED: 1, NOT_HELD: 0, NOT_LOADED: -1 } as const;
export type ReleaseOutcome = keyof typeof ReleaseCode;

/** requeue-reservation.lua's answers. */
export const RequeueCode = { QUEUED: 1, NOT_LOADED: -1, SUPERSEDED: -3, SOLD_OUT: -4 } as const;
export type RequeueOutcome = keyof typeof RequeueCode;

const updateRulesOutcome = decoder(UpdateRulesCode, 'update-rules.lua');
const releaseOutcome = decoder(ReleaseCode, 'release-reservation.lua');
const requeueOutcome = decoder(RequeueCode, 'requeue-reservation.lua');

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
  /** Decides one async issue and queues it in the coupon's stream, counted against the limits first (issue-reserve.lua). */
  issueReserve(couponId: number, userId: number, nowMs: number, limits?: RateLimitArgs): Promise<ReserveReply>;
  /** Counts one request against the limits (check-rate-limits.lua). */
  checkRateLimits(couponId: number, userId: number, nowMs: number, limits: RateLimitArgs): Promise<RateLimitOutcome>;
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
  /**
   * Each coupon's reservations and stream, read atomically per coupon (read-backlog.lua), all coupons
   * sent together: [units reserved, entries in the stream, entries pending] per coupon, in order.
   */
  readBacklogs(couponIds: readonly number[]): Promise<[reserved: number, queued: number, pending: number][]>;
  /**
   * Adds each coupon's answers of one second to that second's hash (add-live-second.lua), one script
   * call per coupon, sent together. `increments` alternates field and increment.
   */
  addLiveSeconds(epochSecond: number, ttlS: number, increments: Iterable<readonly [couponId: number, increments: readonly (string | number)[]]>): Promise<void>;
}

/** Registers every script on the client once (ioredis then calls them by SHA, falling back to EVAL). */
export function createScripts(redis: Redis, keys: Keys): Scripts {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    if (name in redis) continue;
    redis.defineCommand(name, { numberOfKeys: s.keys, lua: readLua(s.file) });
  }
  const raw = redis as unknown as RawScripts;
  // Counters are per calendar second of the API's clock, the clock the issue window is judged by.
  const rateKeys = (couponId: number, userId: number, nowMs: number, ip: string) => {
    const second = Math.floor(nowMs / 1000);
    return [keys.rateUser(couponId, userId, second), keys.rateIp(couponId, ip, second)] as const;
  };
  return {
    async issueReserve(couponId, userId, nowMs, limits = NO_RATE_LIMITS) {
      const reply = Number(await raw.issueReserve(
        keys.rules(couponId), keys.users(couponId), keys.stream(couponId), ...rateKeys(couponId, userId, nowMs, limits.ip),
        userId, nowMs, limits.perUser, limits.perIp,
      ));
      return reply > 0 ? { outcome: 'RESERVED', held: reply } : { outcome: reserveOutcome(reply), held: 0 };
    },
    async checkRateLimits(couponId, userId, nowMs, limits) {
      return rateLimitOutcome(await raw.checkRateLimits(...rateKeys(couponId, userId, nowMs, limits.ip), limits.perUser, limits.perIp));
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
      return { outcome: updateRulesOutcome(code), taken: Number(taken) };
    },
    async releaseReservation(couponId, userId, reservedAtMs, newEpoch) {
      return releaseOutcome(await raw.releaseReservation(keys.rules(couponId), keys.users(couponId), userId, reservedAtMs, newEpoch));
    },
    async requeueReservation(couponId, userId, reservedAtMs) {
      return requeueOutcome(await raw.requeueReservation(keys.rules(couponId), keys.users(couponId), keys.stream(couponId), userId, reservedAtMs));
    },
    async wrJoin(couponId, userId, newTicket, nowMs, seed) {
      const r = (await raw.wrJoin(...keys.waitingRoom(couponId), userId, newTicket, nowMs, seed)) as unknown[];
      const outcome = waitingRoomOutcome(r[0]);
      return r.length > 1 ? { outcome, view: viewOf(r) } : { outcome };
    },
    async wrStatus(couponId, ticket, nowMs, seed) {
      const r = (await raw.wrStatus(...keys.waitingRoom(couponId), ticket, nowMs, seed)) as unknown[];
      const outcome = waitingRoomOutcome(r[0]);
      return r.length > 1 ? { outcome, view: viewOf(r) } : { outcome };
    },
    async wrClaimBegin(couponId, ticket, userId, nowMs, leaseMs, seed) {
      const r = (await raw.wrClaimBegin(...keys.waitingRoom(couponId), ticket, userId, nowMs, leaseMs, seed)) as unknown[];
      const outcome = waitingRoomOutcome(r[0]);
      return r.length > 1 ? { outcome, state: ticketState(r[1]) } : { outcome };
    },
    async wrClaimEnd(couponId, ticket, settlement) {
      return Number(await raw.wrClaimEnd(...keys.waitingRoom(couponId), ticket, ClaimSettlement[settlement])) === 1;
    },
    async wrLoad(op, t, base) {
      const r = await raw.wrLoad(...keys.waitingRoom(t.couponId), op, t.totalQuantity ?? UNLIMITED_TOTAL, t.startMs, t.endMs,
        t.admissionTtlMs, t.preQueueMs, base);
      return Number(r) === 1;
    },
    // Sent together, not as an explicit pipeline: auto-pipelining writes the calls of one turn as one
    // pipeline per node, which also holds on a cluster, where a pipeline cannot span nodes.
    async readBacklogs(couponIds) {
      return Promise.all(couponIds.map(async (id) => {
        const [reserved, queued, pending] = (await raw.readBacklog(keys.users(id), keys.stream(id), CONSUMER_GROUP)) as [number, number, number];
        return [Number(reserved), Number(queued), Number(pending)] as [number, number, number];
      }));
    },
    async addLiveSeconds(epochSecond, ttlS, increments) {
      const calls: Promise<unknown>[] = [];
      for (const [couponId, fields] of increments) calls.push(raw.addLiveSecond(keys.liveSecond(couponId, epochSecond), ttlS, fields.join(' ')));
      await Promise.all(calls);
    },
  };
}
