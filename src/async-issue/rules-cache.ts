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

/**
 * A short-lived in-process cache in front of Redis for the hot path. Entries live `ttlMs`, so a
 * changed or rebuilt coupon is seen within that time; loads are single-flight per coupon; only
 * coupons that exist are kept, at most `maxEntries` of them (the oldest go first).
 */
export class RulesCache {
  private readonly entries = new Map<number, CachedRules>();
  private readonly loading = new Map<number, Promise<CachedRules>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number = Date.now,
  ) {}

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
    const entry: CachedRules = { ...value, expiresAt: this.clock() + this.ttlMs };
    this.entries.delete(couponId); // re-insert: Map order is then oldest-written first
    this.entries.set(couponId, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return entry;
  }

  forget(couponId: number): void {
    this.entries.delete(couponId);
  }

  get size(): number {
    return this.entries.size;
  }
}
