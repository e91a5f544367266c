import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LocalHistogram } from '../../src/metrics/local-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.01, 0.1, 1, 5];
const VALUES = [0, 0.0005, 0.0007, 0.001, 0.0010001, 0.05, 0.1, 3, 5, 7.5, 120];

describe('LocalHistogram', () => {
  it('scrapes exactly as prom-client\'s Histogram given the same observations (bucket edges included)', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const local = new LocalHistogram('h_seconds', 'help', 'path', BUCKETS, ours);
    const reference = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['path'], buckets: BUCKETS, registers: [theirs] });
    for (const [path, values] of [['sync', VALUES], ['async', VALUES.slice(3)]] as const) {
      const series = local.labels(path);
      for (const v of values) {
        series.observe(v);
        reference.labels(path).observe(v);
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    local.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
