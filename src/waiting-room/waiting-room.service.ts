import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Redis } from '../adapters/redis/client.js';
import type { Keys } from '../adapters/redis/keys.js';
import type { ClaimSettlement, Scripts, TicketState, TicketView, WaitingRoomTerms } from '../adapters/redis/scripts.js';
import type { Coupon } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import {
  CouponError, CouponNotExistError, CouponSoldOutError, ErrorCode, IssueWindowClosedError, NoWaitingRoomError, NotAdmittedError,
  TicketNotExistError,
} from '../errors.js';
import { RoomSettingCache, type RoomSetting } from './room-settings.js';
import { isWellFormedTicket, newTicket } from './ticket.js';

/** How long a claim may take before the queue decides it without its report (a process died mid-issue). */
const CLAIM_LEASE_MS = 30_000;

/** What a join or a status read answers (states: README, "Waiting room"). */
export interface QueueTicket {
  readonly ticket: string;
  /** null while PRE_QUEUE: places are given at the opening. */
  readonly position: number | null;
  readonly ahead: number | null;
  readonly state: Exclude<TicketState, 'CLAIMING'>;
  readonly admittedUntil: Date | null;
  readonly estimatedWaitSeconds: number | null;
  /** When to ask again; null when there is nothing to wait for. */
  readonly retryAfterMs: number | null;
}

/** A claim in progress: settle it with the issue's outcome (null: issued) or 'fault'. */
export interface Claim {
  settle(result: CouponError | null | 'fault'): Promise<void>;
}

export interface WaitingRoom {
  join(couponId: number, userId: number): Promise<{ created: boolean; ticket: QueueTicket }>;
  status(couponId: number, ticket: string): Promise<QueueTicket>;
  /**
   * Before an issue: null for a coupon without a waiting room (issue as before); otherwise the
   * ticket must be the user's and ADMITTED, else NotAdmittedError and nothing is taken.
   */
  beginClaim(couponId: number, userId: number, ticket: string | undefined): Promise<Claim | null>;
  /** True when the coupon is known, without waiting, to have no waiting room (beginClaim would answer null). */
  knownWithoutRoom(couponId: number): boolean;
  /** After an admin created or changed a coupon: its queue's terms follow (a new coupon starts empty). */
  couponSaved(coupon: Coupon, created: boolean): Promise<void>;
}

export interface WaitingRoomDeps {
  readonly db: repo.Queryable;
  readonly redis: Pick<Redis, 'get' | 'set'>;
  readonly keys: Pick<Keys, 'waitingRoomSetting'>;
  readonly scripts: Scripts;
  readonly now: () => Date;
  readonly log: Pick<Logger, 'warn'>;
}

function termsOf(c: Coupon): WaitingRoomTerms {
  const wr = c.waitingRoom ?? { admissionTtlSeconds: 0, preQueueSeconds: 0 };
  return {
    couponId: c.id, totalQuantity: c.totalQuantity, startMs: c.dateIssueStart.getTime(), endMs: c.dateIssueEnd.getTime(),
    admissionTtlMs: wr.admissionTtlSeconds * 1000, preQueueMs: wr.preQueueSeconds * 1000,
  };
}

const seed = () => randomInt(1, 2 ** 31 - 1);

/** The server sets the pace of polling: sooner near the front, never more than every second while waiting. */
export function toQueueTicket(v: TicketView, nowMs: number): QueueTicket {
  const state = v.state === 'CLAIMING' ? 'ADMITTED' : v.state;
  const base = { ticket: v.ticket, state, admittedUntil: null, estimatedWaitSeconds: null, retryAfterMs: null };
  // The window has closed on those still in line: nothing more will come, so no more polls.
  if (nowMs >= v.endMs && (state === 'PRE_QUEUE' || state === 'WAITING')) {
    return { ...base, position: v.position === 0 ? null : v.position, ahead: state === 'WAITING' ? v.ahead : null };
  }
  switch (state) {
    case 'PRE_QUEUE': {
      const untilOpening = Math.max(0, v.startMs - nowMs);
      // Spread the opening's polls over a second so they do not all land on its first millisecond.
      return { ...base, position: null, ahead: null, estimatedWaitSeconds: Math.ceil(untilOpening / 1000),
        retryAfterMs: Math.min(5000, Math.max(250, untilOpening)) + randomInt(0, 1000) };
    }
    case 'WAITING':
      return { ...base, position: v.position, ahead: v.ahead,
        // A unit frees up no sooner than the earliest admitted ticket's deadline.
        estimatedWaitSeconds: v.nextDeadline > 0 ? Math.max(0, Math.ceil((v.nextDeadline - nowMs) / 1000)) : null,
        retryAfterMs: Math.min(5000, 1000 + Math.floor(v.ahead / 10)) };
    case 'ADMITTED':
      return { ...base, position: v.position, ahead: v.ahead, admittedUntil: new Date(v.admittedUntil), estimatedWaitSeconds: 0 };
    default:
      return { ...base, position: v.position === 0 ? null : v.position, ahead: 0 };
  }
}

function settlementOf(result: CouponError | null | 'fault'): ClaimSettlement {
  if (result === null) return 'ISSUED';
  if (result === 'fault') return 'NOT_ISSUED';
  if (result.code === ErrorCode.DUPLICATED_COUPON_ISSUE) return 'ALREADY_HELD';
  if (result.code === ErrorCode.INVALID_COUPON_ISSUE_QUANTITY) return 'SOLD_OUT';
  return 'NOT_ISSUED';
}

const NOT_ADMITTED_WHY: Record<string, string> = {
  NO_TICKET: 'a ticket is required (POST /v1/coupons/:couponId/queue)',
  UNKNOWN: 'no such ticket',
  OTHER_USER: 'the ticket is another user\'s',
};

export function createWaitingRoom(deps: WaitingRoomDeps): WaitingRoom {
  const settings = new RoomSettingCache(deps.db, async (couponId) => {
    const saved = await deps.redis.get(deps.keys.waitingRoomSetting(couponId));
    return saved === 'ROOM' || saved === 'NO_ROOM' ? saved : null;
  });

  /** Refuses a join to a coupon without a waiting room. */
  const assertRoom = async (couponId: number): Promise<void> => {
    const s = await settings.get(couponId);
    if (s === 'NO_COUPON') throw new CouponNotExistError(couponId);
    if (s === 'NO_ROOM') throw new NoWaitingRoomError(couponId);
  };

  /**
   * The queue is not in Redis (never joined, or Redis lost it): load its terms from MySQL, with the
   * units issued so far as its base, so a rebuilt queue never admits beyond what is left. Tickets
   * given before a loss are gone with it: their holders are told TICKET_NOT_EXIST and join again.
   */
  const load = async (couponId: number): Promise<void> => {
    const c = await repo.findCouponById(deps.db, couponId);
    if (!c) throw new CouponNotExistError(couponId);
    if (!c.waitingRoom) throw new NoWaitingRoomError(couponId);
    await deps.scripts.wrLoad('create', termsOf(c), c.issuedQuantity);
  };

  /** Runs a waiting-room script, loading the queue once if Redis does not hold it. */
  const withLoaded = async <R extends { outcome: string }>(couponId: number, run: () => Promise<R>): Promise<R> => {
    const r = await run();
    if (r.outcome !== 'NOT_LOADED') return r;
    await load(couponId);
    return run();
  };

  return {
    async join(couponId, userId) {
      await assertRoom(couponId);
      const now = deps.now().getTime();
      const ticket = newTicket();
      const r = await withLoaded(couponId, () => deps.scripts.wrJoin(couponId, userId, ticket, now, seed()));
      if (r.outcome === 'OUTSIDE_WINDOW') throw new IssueWindowClosedError(couponId);
      if (r.outcome === 'SOLD_OUT') throw new CouponSoldOutError(couponId);
      if (!r.view) throw new Error(`wr-join.lua answered ${r.outcome} without a ticket`);
      return { created: r.outcome === 'JOINED', ticket: toQueueTicket(r.view, now) };
    },

    async status(couponId, ticket) {
      if (!isWellFormedTicket(ticket)) throw new TicketNotExistError(couponId);
      const now = deps.now().getTime();
      // Not loaded: the queue (and every ticket) is gone; joining again loads it.
      const r = await deps.scripts.wrStatus(couponId, ticket, now, seed());
      if (!r.view) throw new TicketNotExistError(couponId);
      return toQueueTicket(r.view, now);
    },

    knownWithoutRoom(couponId) {
      const s = settings.peek(couponId);
      return s !== undefined && s !== 'ROOM';
    },

    async beginClaim(couponId, userId, ticket) {
      // Unknown coupons and coupons without a queue: the issue path answers as before.
      if ((await settings.get(couponId)) !== 'ROOM') return null;
      if (ticket === undefined) throw new NotAdmittedError(couponId, NOT_ADMITTED_WHY.NO_TICKET!);
      if (!isWellFormedTicket(ticket)) throw new NotAdmittedError(couponId, NOT_ADMITTED_WHY.UNKNOWN!);
      const r = await withLoaded(couponId, () =>
        deps.scripts.wrClaimBegin(couponId, ticket, userId, deps.now().getTime(), CLAIM_LEASE_MS, seed()));
      if (r.outcome === 'NO_TICKET') throw new NotAdmittedError(couponId, NOT_ADMITTED_WHY.UNKNOWN!);
      if (r.outcome === 'OTHER_USER') throw new NotAdmittedError(couponId, NOT_ADMITTED_WHY.OTHER_USER!);
      if (r.outcome === 'NOT_ADMITTED') throw new NotAdmittedError(couponId, `the ticket is ${r.state === 'CLAIMING' ? 'being claimed' : r.state}`);
      return {
        async settle(result) {
          // A lost report is decided by the lease (see wr-claim-begin.lua): never fail the answer for it.
          await deps.scripts.wrClaimEnd(couponId, ticket, settlementOf(result)).catch((err: unknown) =>
            deps.log.warn({ couponId, err: (err as Error).message }, 'waiting room claim not settled; its lease decides'));
        },
      };
    },

    async couponSaved(coupon, created) {
      settings.forget(coupon.id);
      const setting: RoomSetting = coupon.waitingRoom ? 'ROOM' : 'NO_ROOM';
      const op = created ? 'reset' : coupon.waitingRoom ? 'update' : null;
      // MySQL holds the change already; a queue left with old terms still never issues beyond the stock (the issue path counts).
      await (async () => {
        if (op) await deps.scripts.wrLoad(op, termsOf(coupon), 0);
        await deps.redis.set(deps.keys.waitingRoomSetting(coupon.id), setting);
      })().catch((err: unknown) =>
        deps.log.warn({ couponId: coupon.id, err: (err as Error).message }, 'waiting room terms not updated in redis'));
    },
  };
}

/**
 * Runs an issue under a claim (none: as before). The outcome, a refusal returned or thrown, settles
 * the ticket: issued -> CLAIMED; the user already held one -> CLAIMED; sold out -> SOLD_OUT; anything
 * else, faults included -> back to ADMITTED.
 */
export async function claimThrough<T extends CouponError | null | void>(claim: Claim | null, issue: () => Promise<T>): Promise<T> {
  if (!claim) return issue();
  let result: T;
  try {
    result = await issue();
  } catch (err) {
    await claim.settle(err instanceof CouponError ? err : 'fault');
    throw err;
  }
  await claim.settle(result instanceof CouponError ? result : null);
  return result;
}
