import type { IssueRules } from '../coupons/coupon.js';

interface Entry {
  /** null: MySQL has no such coupon. */
  readonly rules: IssueRules | null;
  readonly expiresAt: number;
  /** Set once the coupon is sold out: the final list of winners, to answer without Redis. */
  winners?: ReadonlySet<number>;
}

/**
 * A short-lived in-process cache in front of Redis for the hot path. Entries live `ttlMs`, so a
 * changed or rebuilt coupon is seen within that time; loads are single-flight per coupon.
 */
export class RulesCache {
  private readonly entries = new Map<number, Entry>();
  private readonly loading = new Map<number, Promise<Entry>>();

  constructor(private readonly ttlMs: number, private readonly clock: () => number = Date.now) {}

  async get(couponId: number, load: () => Promise<IssueRules | null>): Promise<Entry> {
    const hit = this.entries.get(couponId);
    if (hit && hit.expiresAt > this.clock()) return hit;
    let pending = this.loading.get(couponId);
    if (!pending) {
      pending = load().then(
        (rules) => {
          const entry: Entry = { rules, expiresAt: this.clock() + this.ttlMs };
          this.entries.set(couponId, entry);
          return entry;
        },
      ).finally(() => this.loading.delete(couponId));
      this.loading.set(couponId, pending);
    }
    return pending;
  }

  /** Records the winners of a sold-out coupon on its live entry (expires with it). */
  markSoldOut(couponId: number, winners: ReadonlySet<number>): void {
    const entry = this.entries.get(couponId);
    if (entry) entry.winners = winners;
  }

  forget(couponId: number): void {
    this.entries.delete(couponId);
  }
}
