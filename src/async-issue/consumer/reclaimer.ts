import type { ReservationStreams, StreamEntry } from '../stream/reservation-streams.js';

export interface ReclaimOptions {
  readonly consumer: string;
  readonly batchSize: number;
  /** An entry unacknowledged this long is taken over from its (presumed dead) consumer. */
  readonly claimIdleMs: number;
  /** An entry delivered more often than this (its consumers kept dying on it) is given up without another try. */
  readonly maxDeliveries: number;
}

/**
 * Takes over what consumers that died (or hang) left unacknowledged, so no reservation waits on a
 * dead process; entries delivered too often are handed to `giveUp` instead of being tried again.
 */
export class Reclaimer {
  constructor(
    private readonly streams: ReservationStreams,
    private readonly opts: ReclaimOptions,
    private readonly handle: (entries: StreamEntry[]) => Promise<void>,
    private readonly giveUp: (entry: StreamEntry, reason: string, deliveries: number) => Promise<void>,
  ) {}

  /** Reclaims one coupon's idle entries; returns how many it took over. */
  async reclaim(couponId: number, shouldStop: () => boolean): Promise<number> {
    let cursor = '0-0';
    let taken = 0;
    do {
      const page = await this.streams.claimIdle(couponId, this.opts.consumer, this.opts.claimIdleMs, cursor, this.opts.batchSize);
      cursor = page.cursor;
      if (page.entries.length === 0) continue;
      taken += page.entries.length;
      const deliveries = await this.streams.deliveryCounts(couponId, page.entries[0]!.id, page.entries.at(-1)!.id, this.opts.batchSize);
      const rest: StreamEntry[] = [];
      for (const e of page.entries) {
        const delivered = deliveries.get(e.id) ?? 0;
        if (delivered > this.opts.maxDeliveries) await this.giveUp(e, `delivered more than ${this.opts.maxDeliveries} times`, delivered);
        else rest.push(e);
      }
      if (rest.length) await this.handle(rest);
    } while (cursor !== '0-0' && !shouldStop());
    return taken;
  }
}
