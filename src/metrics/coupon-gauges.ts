import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { UNLIMITED_TOTAL } from '../adapters/redis/keys.js';
import type { CouponState } from './coupon-states.js';

type Reading = (s: CouponState) => number | null;

const GAUGES: readonly { name: string; help: string; read: Reading }[] = [
  { name: 'coupon_total_quantity', help: 'Units the coupon may issue (-1: unlimited)', read: (s) => s.totalQuantity ?? UNLIMITED_TOTAL },
  { name: 'coupon_reserved', help: 'Units taken: reservations in Redis (async coupons) or issued_quantity in MySQL (sync ones)', read: (s) => s.reserved },
  { name: 'coupon_persisted', help: 'Issue rows in MySQL', read: (s) => s.persisted },
  { name: 'coupon_stream_lag', help: 'Reservations queued in the stream, not yet delivered to a consumer (async coupons)', read: (s) => s.lag },
  { name: 'coupon_stream_pending', help: 'Reservations delivered to a consumer, not yet acknowledged (async coupons)', read: (s) => s.pending },
  {
    name: 'coupon_consistency_gap',
    help: 'What should agree and does not: reserved - (rows + queued) for async coupons, or issued_quantity - rows; 0 when healthy',
    read: (s) => s.gap,
  },
];

/**
 * Per-coupon gauges for the coupons being watched, computed when scraped from one shared snapshot
 * (read at most once a second however many scrape). A coupon that leaves the watch leaves the gauges.
 */
export function registerCouponGauges(registry: Registry, states: () => Promise<CouponState[]>, log: Pick<Logger, 'warn'>): void {
  for (const g of GAUGES) {
    new Gauge({
      name: g.name,
      help: g.help,
      labelNames: ['coupon_id'] as const,
      registers: [registry],
      // Every API worker reads the same MySQL and Redis: summed over N workers they would be N times the truth.
      aggregator: 'first',
      async collect() {
        this.reset();
        let current: CouponState[];
        try {
          current = await states();
        } catch (err) {
          // A scrape still answers (process metrics and counters) while MySQL or Redis is away; these go absent.
          if (g === GAUGES[0]) log.warn({ err: (err as Error).message }, 'coupon gauges not read');
          return;
        }
        for (const s of current) {
          const value = g.read(s);
          if (value !== null) this.set({ coupon_id: String(s.couponId) }, value);
        }
      },
    });
  }
}
