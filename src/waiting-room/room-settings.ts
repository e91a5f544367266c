import type { Coupon } from '../domain/coupon.js';
import * as repo from '../domain/coupon.repository.js';

const TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly expiresAt: number;
  readonly row: Promise<Coupon | null>;
  /** The last row read successfully, served while MySQL is out of reach. */
  readonly lastGood: { value: Coupon | null } | undefined;
}

/**
 * Each coupon's row as read from MySQL at most once a second per process (one read in flight per
 * coupon): the claim check asks it on every issue request to learn whether the coupon has a waiting
 * room. A PATCH that turns one on reaches other processes within that second. With MySQL out of
 * reach the last row read is kept, so the async path keeps accepting as it did before.
 */
export class CouponRowCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly db: repo.Queryable) {}

  get(couponId: number): Promise<Coupon | null> {
    const now = Date.now();
    const hit = this.entries.get(couponId);
    if (hit && hit.expiresAt > now) return hit.row;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const lastGood = hit?.lastGood;
    const row = repo.findCouponById(this.db, couponId).then((value) => {
      this.entries.set(couponId, { expiresAt: now + TTL_MS, row, lastGood: { value } });
      return value;
    }, (err: unknown) => {
      this.entries.delete(couponId);
      if (lastGood) {
        this.entries.set(couponId, { expiresAt: 0, row: Promise.resolve(lastGood.value), lastGood });
        return lastGood.value;
      }
      throw err;
    });
    this.entries.set(couponId, { expiresAt: now + TTL_MS, row, lastGood });
    return row;
  }

  forget(couponId: number): void {
    this.entries.delete(couponId);
  }
}
