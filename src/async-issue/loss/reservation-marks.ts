import type { Deps } from '../../deps.js';
import { raiseMark } from './marks.repository.js';

const FLUSH_EVERY_MS = 1000;

/**
 * How many units each coupon's users hash held at the last reservation this process made (the
 * reserve script returns it, so noting it costs no Redis round trip), flushed to MySQL once a second
 * off the hot path. When Redis loses data, the rebuild compares the last count with what survived.
 */
export class ReservationMarks {
  private readonly held = new Map<number, { count: number; at: Date }>();
  private readonly dirty = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(private readonly deps: Pick<Deps, 'db' | 'log'>, flushEveryMs = FLUSH_EVERY_MS) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  /** The hot path's part: two map writes. */
  note(couponId: number, held: number): void {
    this.held.set(couponId, { count: held, at: new Date() });
    this.dirty.add(couponId);
  }

  /** What this process saw last, or null. */
  lastSeen(couponId: number): { count: number; at: Date } | null {
    return this.held.get(couponId) ?? null;
  }

  /** Coupons this process has reserved units of. */
  coupons(): number[] {
    return [...this.held.keys()];
  }

  /** After a loss was reported: start again from what Redis holds now. */
  reset(couponId: number, held: number): void {
    this.held.set(couponId, { count: held, at: new Date() });
    this.dirty.delete(couponId);
  }

  /** Writes changed marks to MySQL; one flush at a time, failures only delay it. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const couponId of ids) {
        const mark = this.held.get(couponId);
        if (!mark) continue;
        try {
          await raiseMark(this.deps.db, couponId, mark.count, mark.at);
        } catch (err) {
          this.dirty.add(couponId); // MySQL away: try again at the next tick
          this.deps.log.debug({ couponId, err: (err as Error).message }, 'reservation mark not flushed');
        }
      }
    })().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
