import type { ReservationStreams } from '../stream/reservation-streams.js';

const REFRESH_EVERY_MS = 1000;
const PRUNE_EVERY_MS = 30_000;
/** Covers clock skew between API processes: the script refuses after the end by their clocks. */
const PRUNE_GRACE_MS = 60_000;

/**
 * The coupons whose streams a consumer reads (the async ones): read from Redis at most once a
 * second, and every `pruneEveryMs` rid of coupons whose window closed a while ago (or that are sync)
 * and whose stream is empty (nothing more can arrive for them).
 */
export class ActiveCoupons {
  private list: number[] = [];
  private readAt = 0;
  private prunedAt = Date.now();

  constructor(
    private readonly streams: ReservationStreams,
    /** When entries stop arriving for a coupon (its window's end; null: not loaded, kept). */
    private readonly queuesUntil: (couponId: number) => Promise<number | null>,
    private readonly pruneEveryMs = PRUNE_EVERY_MS,
  ) {}

  async current(): Promise<number[]> {
    if (Date.now() - this.prunedAt > this.pruneEveryMs) {
      this.prunedAt = Date.now();
      await this.pruneFinished();
      this.readAt = 0;
    }
    if (Date.now() - this.readAt > REFRESH_EVERY_MS) {
      this.list = await this.streams.activeCoupons();
      this.readAt = Date.now();
    }
    return this.list;
  }

  private async pruneFinished(): Promise<void> {
    for (const couponId of this.list) {
      const [end, queued] = await Promise.all([this.queuesUntil(couponId), this.streams.length(couponId)]);
      if (end !== null && queued === 0 && end + PRUNE_GRACE_MS < Date.now()) await this.streams.deactivate(couponId);
    }
  }
}
