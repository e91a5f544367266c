import type { Logger } from 'pino';
import type { CouponState } from './coupon-states.js';

export interface ConsistencyWatchOptions {
  readonly intervalMs: number;
  /** A gap non-zero at every check for this long is reported (longer than a drain should take). */
  readonly alertAfterMs: number;
}

/**
 * Compares, every `intervalMs`, what must agree for each watched coupon, and logs a warning once a
 * gap has stayed non-zero for `alertAfterMs`, naming the command that repairs it; an info line when
 * it closes again. A gap seen only at some checks is a drain in progress, not a fault.
 */
export function startConsistencyWatch(states: () => Promise<CouponState[]>, log: Pick<Logger, 'warn' | 'info'>, opts: ConsistencyWatchOptions): { stop(): void } {
  const openSince = new Map<number, { since: number; reported: boolean }>();

  const check = async (): Promise<void> => {
    const now = Date.now();
    const seen = new Set<number>();
    for (const s of await states()) {
      seen.add(s.couponId);
      const open = openSince.get(s.couponId);
      if (s.gap === 0) {
        if (open?.reported) log.info({ couponId: s.couponId }, `coupon ${s.couponId}: Redis and MySQL agree again`);
        openSince.delete(s.couponId);
      } else if (!open) {
        openSince.set(s.couponId, { since: now, reported: false });
      } else if (!open.reported && now - open.since >= opts.alertAfterMs) {
        open.reported = true;
        log.warn({
          couponId: s.couponId, gap: s.gap, reservationGap: s.reservationGap, countGap: s.countGap, reserved: s.reserved,
          persisted: s.persisted, issuedQuantity: s.issuedQuantity, queued: (s.lag ?? 0) + (s.pending ?? 0), forMs: now - open.since,
        }, `coupon ${s.couponId}: consistency gap ${s.gap} for ${Math.round((now - open.since) / 1000)} s; `
          + `inspect with \`coupon reconcile ${s.couponId}\`, repair with \`coupon reconcile ${s.couponId} --repair\``);
      }
    }
    for (const id of openSince.keys()) if (!seen.has(id)) openSince.delete(id);
  };

  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow read (a large COUNT) must not pile up checks
    running = true;
    check()
      .catch((err: Error) => log.warn({ err: err.message }, 'consistency check failed; trying again'))
      .finally(() => { running = false; });
  }, opts.intervalMs);
  timer.unref(); // never what keeps a process alive
  return { stop: () => clearInterval(timer) };
}
