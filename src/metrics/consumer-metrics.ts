import { Counter, Histogram, type Registry } from 'prom-client';
import type { ConsumerStats } from '../async-issue/consumer/persist-consumer.js';

const COUNTERS: readonly { name: string; help: string; stat: keyof ConsumerStats }[] = [
  { name: 'coupon_consumer_persisted_total', help: 'Issue rows the consumer inserted into MySQL', stat: 'persisted' },
  { name: 'coupon_consumer_batches_total', help: 'Batches the consumer committed to MySQL', stat: 'batches' },
  { name: 'coupon_consumer_dead_letters_total', help: 'Entries the consumer gave up and parked in the dead-letter stream', stat: 'deadLettered' },
  { name: 'coupon_consumer_reclaimed_total', help: 'Entries taken back from consumers that died or hung (and its own after a restart)', stat: 'reclaimed' },
];

/** Seconds for one batch's MySQL transaction: 1 ms to 10 s (a batch of 10,000 behind a slow disk). */
const BATCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The consumer's counters, read from its own stats when scraped (nothing recorded on its hot path
 * but a batch's duration); returns what observes that duration.
 */
export function registerConsumerMetrics(registry: Registry, stats: Readonly<ConsumerStats>): (seconds: number) => void {
  for (const c of COUNTERS) {
    new Counter({
      name: c.name,
      help: c.help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats[c.stat]);
      },
    });
  }
  const batches = new Histogram({
    name: 'coupon_consumer_batch_duration_seconds',
    help: 'Time to write one batch to MySQL (one transaction)',
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  return (seconds) => batches.observe(seconds);
}
