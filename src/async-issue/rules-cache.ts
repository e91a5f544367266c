import { LRUCache } from 'lru-cache';
import type { IssueRules } from '../domain/coupon.js';
import type { CouponSoldOutError } from '../errors.js';

/** What a sold-out coupon is answered with, without Redis: its final winners, and its one refusal. */
export interface SoldOut {
  /** The users hash's epoch when the winners were read: they hold only while it is unchanged. */
  readonly epoch: string;
  readonly winners: ReadonlySet<number>;
  /** Shared by every refused request (it is immutable): building one per request cost a measured share of the flood. */
  readonly refusal: CouponSoldOutError;
}

export interface CachedRules {
  /** null: MySQL has no such coupon (returned, never stored). */
  readonly rules: IssueRules | null;
  readonly expiresAt: number;
  /** Set once the coupon is sold out. */
  readonly soldOut?: SoldOut;
}

/** An evicted coupon's winners are not read again for this long, so a working set above the budget costs Redis one HKEYS per coupon per interval, not one per refusal. */
const EVICTED_COOLDOWN_MS = 10_000;

/**
 * A short-lived in-process cache in front of Redis for the hot path. Entries live `ttlMs`, so a
 * changed or rebuilt coupon is seen within that time; loads are single-flight per coupon; only
 * coupons that exist are kept, at most `maxEntries` of them (the oldest go first).
 * Sold-out coupons' winners count against one budget, `maxWinners` over all coupons: past it the
 * least recently used coupon's winners go (recency is renewed at each reload, which a coupon in use
 * gets every `ttlMs`), and its refusals come from the script again: correct, only slower.
 */
export class RulesCache {
  private readonly entries = new Map<number, CachedRules>();
  private readonly loading = new Map<number, Promise<CachedRules>>();
  /** The winners held, for their total size and their order of use; the entries point at the same sets. */
  private readonly winners: LRUCache<number, SoldOut> | undefined;
  private readonly evicted: LRUCache<number, true>;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    maxWinners: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.evicted = new LRUCache({ max: maxEntries, ttl: EVICTED_COOLDOWN_MS, ttlResolution: 0, perf: { now: clock } });
    this.winners = maxWinners > 0
      ? new LRUCache<number, SoldOut>({
        maxSize: maxWinners,
        // An empty set still costs its entry: at least 1, which lru-cache requires too.
        sizeCalculation: (s) => Math.max(1, s.winners.size),
        dispose: (_, couponId, reason) => {
          if (reason === 'evict') this.dropWinners(couponId);
        },
      })
      : undefined;
  }

  /** Whether a sold-out coupon's winners may be read into memory now (the budget is on, and they were not evicted just now). */
  mayHoldWinners(couponId: number): boolean {
    return this.winners !== undefined && !this.evicted.has(couponId);
  }

  private dropWinners(couponId: number): void {
    this.evicted.set(couponId, true);
    const entry = this.entries.get(couponId);
    if (entry?.soldOut) this.entries.set(couponId, { rules: entry.rules, expiresAt: entry.expiresAt });
  }

  /** The live entry, if any: a hit answers without a promise on the hot path. */
  peek(couponId: number): CachedRules | undefined {
    const hit = this.entries.get(couponId);
    return hit && hit.expiresAt > this.clock() ? hit : undefined;
  }

  /** `load` receives the expired entry, if any, so it can carry over what is still valid. */
  async get(couponId: number, load: (previous: CachedRules | undefined) => Promise<Omit<CachedRules, 'expiresAt'>>): Promise<CachedRules> {
    const hit = this.entries.get(couponId);
    if (hit && hit.expiresAt > this.clock()) return hit;
    let pending = this.loading.get(couponId);
    if (!pending) {
      pending = load(hit)
        // An unknown coupon is not kept: it may be created the next moment, and asking again is cheap.
        .then((loaded) => (loaded.rules === null ? { ...loaded, expiresAt: 0 } : this.set(couponId, loaded)))
        .finally(() => this.loading.delete(couponId));
      this.loading.set(couponId, pending);
    }
    return pending;
  }

  set(couponId: number, value: Omit<CachedRules, 'expiresAt'>): CachedRules {
    let entry: CachedRules = { ...value, expiresAt: this.clock() + this.ttlMs };
    if (entry.soldOut) {
      this.winners?.set(couponId, entry.soldOut);
      // Refused by the budget (alone above it, or no budget): kept out of memory, answered by the script.
      if (this.winners?.peek(couponId) !== entry.soldOut) {
        this.evicted.set(couponId, true);
        entry = { rules: entry.rules, expiresAt: entry.expiresAt };
      }
    } else {
      this.winners?.delete(couponId);
    }
    this.entries.delete(couponId); // re-insert: Map order is then oldest-written first
    this.entries.set(couponId, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.forget(oldest.value);
    }
    return entry;
  }

  forget(couponId: number): void {
    this.entries.delete(couponId);
    this.winners?.delete(couponId);
  }

  /** The winners held over all sold-out coupons (what the budget bounds). */
  get winnersHeld(): number {
    return this.winners?.calculatedSize ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
