import { CouponIds } from '../domain/coupon-ids.js';
import * as repo from '../domain/coupon.repository.js';

const TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

/** Whether a coupon has a waiting room: all an issue request needs to know of it. */
export type RoomSetting = 'ROOM' | 'NO_ROOM' | 'NO_COUPON';

interface Entry {
  readonly expiresAt: number;
  readonly setting: Promise<RoomSetting>;
  /** The last setting read successfully, served while MySQL is out of reach. */
  readonly lastGood: RoomSetting | undefined;
  /** Set once `setting` has resolved from a read: what peek() answers. */
  readonly known?: RoomSetting;
}

/**
 * Each coupon's setting as read from MySQL at most once a second per process (one read in flight
 * per coupon): the claim check asks it on every issue request. A PATCH that turns a room on or off
 * reaches other processes within that second. With MySQL out of reach, the last setting read is kept,
 * or else the copy saved in Redis (`fallback`), so the async path keeps accepting as it did before.
 */
export class RoomSettingCache {
  private readonly entries = new Map<number, Entry>();
  private readonly couponIds: CouponIds;

  constructor(
    private readonly db: repo.Queryable,
    private readonly fallback: (couponId: number) => Promise<RoomSetting | null>,
  ) {
    this.couponIds = new CouponIds(db);
  }

  get(couponId: number): Promise<RoomSetting> {
    const now = Date.now();
    const hit = this.entries.get(couponId);
    if (hit && hit.expiresAt > now) return hit.setting;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const lastGood = hit?.lastGood;
    // Unknown ids are told apart without a query each: a flood of random ids must not reach MySQL per request.
    const setting = this.read(couponId).then((c): RoomSetting => {
      const value = c === null ? 'NO_COUPON' : c.waitingRoom ? 'ROOM' : 'NO_ROOM';
      this.entries.set(couponId, { expiresAt: now + TTL_MS, setting: Promise.resolve(value), lastGood: value, known: value });
      return value;
    }, async (err: unknown): Promise<RoomSetting> => {
      this.entries.delete(couponId); // asked again on the next request
      const known = lastGood ?? await this.fallback(couponId).catch(() => null);
      if (known === null) throw err;
      this.entries.set(couponId, { expiresAt: 0, setting: Promise.resolve(known), lastGood: known });
      return known;
    });
    this.entries.set(couponId, { expiresAt: now + TTL_MS, setting, lastGood });
    return setting;
  }

  /** The setting read within the last second, without a promise (the hot path's cached refusals); undefined if none. */
  peek(couponId: number): RoomSetting | undefined {
    const hit = this.entries.get(couponId);
    return hit && hit.expiresAt > Date.now() ? hit.known : undefined;
  }

  private async read(couponId: number) {
    return (await this.couponIds.mayExist(couponId)) ? repo.findCouponById(this.db, couponId) : null;
  }

  forget(couponId: number): void {
    this.entries.delete(couponId);
  }
}
