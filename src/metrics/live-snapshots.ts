import type { Deps } from '../deps.js';
import type { Coupon } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';
import { UnavailableError } from '../errors.js';
import { readStatesOf, type CouponState } from './coupon-states.js';
import { secondOfAnswers, type SecondOfAnswers } from './live-answers.js';

export type LiveState = 'upcoming' | 'open' | 'sold out' | 'closed';

/** What GET /v1/coupons/:couponId/live sends once a second: no user ids, only counts. */
export interface LiveSnapshot extends SecondOfAnswers {
  readonly couponId: number;
  /** When it was read (ISO); `answers` are those since the last snapshot, up to the second before. */
  readonly at: string;
  readonly title: string;
  readonly state: LiveState;
  readonly dateIssueStart: string;
  readonly dateIssueEnd: string;
  /** Units taken: Redis reservations for an async coupon, issued_quantity otherwise. */
  readonly issued: number;
  /** null: unlimited. */
  readonly total: number | null;
  /** Rows in MySQL. */
  readonly persisted: number;
  /** Async coupons: stream entries not yet read by a consumer, and read but not yet committed (null otherwise). */
  readonly queued: number | null;
  readonly pending: number | null;
  /** The consistency gap (0 when healthy; see README "Operating an event"). */
  readonly gap: number;
  /** When the last unit was taken (ISO), once sold out and persisted; and how long after the opening (or the first issue). */
  readonly soldOutAt: string | null;
  readonly soldOutAfterMs: number | null;
}

/** Sold out wins over closed: an event that sold out is remembered so. */
export function liveStateOf(c: Pick<Coupon, 'dateIssueStart' | 'dateIssueEnd' | 'totalQuantity'>, issued: number, now: Date): LiveState {
  if (now < c.dateIssueStart) return 'upcoming';
  if (c.totalQuantity !== null && issued >= c.totalQuantity) return 'sold out';
  return now >= c.dateIssueEnd ? 'closed' : 'open';
}

type Listener = (s: LiveSnapshot) => void;

/** One snapshot's answers: `second` is the last second they cover (a new page draws the last minutes from these). */
export interface PastAnswers extends SecondOfAnswers {
  readonly second: number;
}

export interface LiveHub {
  /** `listener` gets the coupon's snapshot once a second; call the result to stop. */
  subscribe(couponId: number, listener: Listener): () => void;
  /** The coupon's last snapshot, if it is followed and one was read: a new stream starts with it. */
  latest(couponId: number): LiveSnapshot | undefined;
  /** The answers of the last HISTORY_SECONDS, by second (read from Redis once when a process starts following the coupon). */
  history(couponId: number): Promise<PastAnswers[]>;
  stop(): void;
}

/** Distinct coupons followed at once per process: each costs a few reads a second. */
const MAX_LIVE_COUPONS = 100;
/** A snapshot sums at most this many seconds of answers (after a stall longer than that, the rest are dropped). */
const MAX_SECONDS_PER_SNAPSHOT = 10;
/** What a page opened late (after the demo's flood, say) still draws. */
export const HISTORY_SECONDS = 300;

interface Followed {
  readonly listeners: Set<Listener>;
  last?: LiveSnapshot;
  /** The last second whose answers a snapshot reported. */
  lastSecond?: number;
  history: PastAnswers[];
  historyRead?: Promise<void>;
  soldOut?: { at: Date; afterMs: number };
}

/**
 * One snapshot per followed coupon per second per process, shared by all its streams: the reads
 * (the coupon, its state, the last second's answers) cost the same for one open page or a thousand.
 * Ticks half a second into each second and reads the seconds before it: every process has finished
 * its flushes into them (they write to the second they run in).
 */
export function createLiveHub(deps: Deps, now: () => Date = deps.now): LiveHub {
  const followed = new Map<number, Followed>();
  let timer: NodeJS.Timeout | undefined;

  const soldOutOf = async (c: Coupon, f: Followed, state: CouponState): Promise<Followed['soldOut']> => {
    if (f.soldOut || c.totalQuantity === null || state.persisted < c.totalQuantity) return f.soldOut;
    const range = await repo.findIssueTimeRange(deps.db, c.id);
    if (!range) return undefined;
    // An event created ahead of its opening counts from the opening; one opened at creation from its first issue.
    const from = c.createdAt < c.dateIssueStart ? c.dateIssueStart : range.first;
    f.soldOut = { at: range.last, afterMs: range.last.getTime() - from.getTime() };
    return f.soldOut;
  };

  const read = async (): Promise<void> => {
    const ids = [...followed.keys()];
    const at = now();
    const second = Math.floor(at.getTime() / 1000) - 1;
    // Every second since the coupon's last snapshot: a tick delayed by a busy CPU skips none, counts none twice.
    const ranges = ids.map((id) => {
      const f = followed.get(id);
      const from = Math.max(second - MAX_SECONDS_PER_SNAPSHOT + 1, (f?.lastSecond ?? second - 1) + 1);
      if (f) f.lastSecond = second;
      return Array.from({ length: Math.max(0, second - from + 1) }, (_, k) => from + k);
    });
    // One pipeline per coupon: a cluster runs a pipeline on one node, and coupons spread over several.
    const [coupons, states, hashes] = await Promise.all([
      Promise.all(ids.map((id) => repo.findCouponById(deps.db, id))),
      readStatesOf(deps, ids),
      Promise.all(ids.map((id, i) => {
        const pipe = deps.redis.pipeline();
        for (const s of ranges[i]!) pipe.hgetall(deps.keys.liveSecond(id, s));
        return pipe.exec();
      })),
    ]);
    const summed = ranges.map((r, i) => {
      const sum: Record<string, number> = {};
      for (let k = 0; k < r.length; k++) {
        const [err, hash] = hashes[i]?.[k] ?? [null, {}];
        if (err) throw err;
        for (const [field, v] of Object.entries(hash as Record<string, string>)) sum[field] = (sum[field] ?? 0) + Number(v);
      }
      return sum;
    });
    await Promise.all(ids.map(async (id, i) => {
      const c = coupons[i];
      const state = states.find((s) => s.couponId === id);
      const f = followed.get(id);
      if (!c || !state || !f) return;
      const soldOut = await soldOutOf(c, f, state);
      const snapshot: LiveSnapshot = {
        couponId: id,
        at: at.toISOString(),
        title: c.title,
        state: liveStateOf(c, state.reserved, at),
        dateIssueStart: c.dateIssueStart.toISOString(),
        dateIssueEnd: c.dateIssueEnd.toISOString(),
        issued: state.reserved,
        total: c.totalQuantity,
        persisted: state.persisted,
        queued: state.lag,
        pending: state.pending,
        gap: state.gap,
        ...secondOfAnswers(summed[i] ?? {}),
        soldOutAt: soldOut?.at.toISOString() ?? null,
        soldOutAfterMs: soldOut?.afterMs ?? null,
      };
      f.last = snapshot;
      f.history.push({ second, answers: snapshot.answers, p50Ms: snapshot.p50Ms, p99Ms: snapshot.p99Ms });
      while ((f.history[0]?.second ?? second) <= second - HISTORY_SECONDS) f.history.shift();
      for (const l of f.listeners) l(snapshot);
    }));
  };

  /** The seconds before the coupon was followed here; the ticks take it from the next second on. */
  const readHistory = async (couponId: number, f: Followed): Promise<void> => {
    const upTo = Math.floor(now().getTime() / 1000) - 1;
    f.lastSecond = upTo;
    const pipe = deps.redis.pipeline();
    for (let s = upTo - HISTORY_SECONDS + 1; s <= upTo; s++) pipe.hgetall(deps.keys.liveSecond(couponId, s));
    const replies = (await pipe.exec()) ?? [];
    const past: PastAnswers[] = [];
    replies.forEach(([err, hash], k) => {
      const fields = Object.entries((err ? {} : hash) as Record<string, string>);
      if (fields.length === 0) return;
      past.push({ second: upTo - HISTORY_SECONDS + 1 + k, ...secondOfAnswers(Object.fromEntries(fields.map(([n, v]) => [n, Number(v)]))) });
    });
    f.history = [...past, ...f.history];
  };

  const schedule = () => {
    const ms = Date.now() % 1000;
    timer = setTimeout(tick, (ms < 500 ? 500 : 1500) - ms);
  };
  const tick = () => {
    read().catch((err: unknown) => deps.log.warn({ err }, 'live snapshot not read'))
      .finally(() => { if (followed.size > 0) schedule(); else timer = undefined; });
  };

  return {
    subscribe(couponId, listener) {
      let f = followed.get(couponId);
      if (!f) {
        if (followed.size >= MAX_LIVE_COUPONS) throw new UnavailableError(`at most ${MAX_LIVE_COUPONS} events are followed live at once`);
        followed.set(couponId, (f = { listeners: new Set(), history: [] }));
        f.historyRead = readHistory(couponId, f).catch((err: unknown) => deps.log.warn({ err }, 'live history not read'));
      }
      f.listeners.add(listener);
      if (!timer) schedule();
      const mine = f;
      return () => {
        mine.listeners.delete(listener);
        if (mine.listeners.size === 0 && followed.get(couponId) === mine) followed.delete(couponId);
      };
    },
    latest: (couponId) => followed.get(couponId)?.last,
    async history(couponId) {
      const f = followed.get(couponId);
      await f?.historyRead;
      return f ? [...f.history] : [];
    },
    stop() {
      clearTimeout(timer);
      followed.clear();
    },
  };
}
