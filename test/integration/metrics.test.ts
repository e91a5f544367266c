import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { CONSUMER_GROUP } from '../../src/adapters/redis/keys.js';
import { PersistConsumer, type ConsumerOptions } from '../../src/async-issue/consumer/persist-consumer.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { registerConsumerMetrics } from '../../src/metrics/consumer-metrics.js';
import { drainWithConsumer, waitForDrain, waitUntil } from '../helpers/drain.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { familyNames, parseSamples, valueOf, type Sample } from '../helpers/metrics.js';
import { jsonLines, useTestApp } from '../helpers/test-app.js';
import { insertTestCoupon } from '../helpers/test-env.js';

const ctx = useTestApp({ LOG_REQUESTS: '1' });
const { logLines } = ctx;

const scrapeText = async (): Promise<string> => {
  const res = await ctx.app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  return res.body;
};
const scrape = async (): Promise<Sample[]> => parseSamples(await scrapeText());

/** Answers by code as the counter labels them: "202"/"200" become OK, "409 X" becomes X. */
const byCode = (outcomes: Record<string, number>) => Object.fromEntries(
  Object.entries(outcomes).map(([k, n]) => [k.includes(' ') ? k.split(' ')[1]! : 'OK', n]),
);

const answersCounted = (samples: Sample[], path: string) => Object.fromEntries(samples
  .filter((s) => s.name === 'coupon_issue_requests_total' && s.labels.path === path)
  .map((s) => [s.labels.code!, s.value]));

const diff = (after: Record<string, number>, before: Record<string, number>): Record<string, number> => Object.fromEntries(
  Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)] as const).filter(([, v]) => v !== 0),
);

const consumerOpts = { batchSize: 200, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5 };

async function drainWith(opts: Partial<ConsumerOptions> & { name: string }, couponId: number): Promise<PersistConsumer> {
  const consumer = await drainWithConsumer(ctx.t.deps, couponId, { ...consumerOpts, ...opts });
  return consumer;
}

describe('GET /metrics', () => {
  it('serves Node process metrics in Prometheus text format', async () => {
    const text = await scrapeText();
    const samples = parseSamples(text);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(valueOf(samples, name), name).toEqual(expect.any(Number));
    }
    expect(familyNames(text)).toContain('nodejs_gc_duration_seconds'); // samples appear after the first GC
  });

  it('an async flood moves coupon_issue_requests_total by exactly the answers, by code, and the histogram by their number', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 300 });
    const before = await scrape();
    const load = await fireIssues([ctx.url], '/v1/issue-async', floodBodies(couponId, 1000, 200), 64);
    expect(load.outcomes['202']).toBe(300);
    const expected = byCode(load.outcomes);
    // Recorded once each answer is written: poll until every one is counted, then compare exactly.
    let after = before;
    await waitUntil('every answer counted', async () => {
      after = await scrape();
      return Object.values(diff(answersCounted(after, 'async'), answersCounted(before, 'async'))).reduce((a, b) => a + b, 0) >= load.total;
    });
    expect(diff(answersCounted(after, 'async'), answersCounted(before, 'async'))).toEqual(expected);
    expect(diff(answersCounted(after, 'sync'), answersCounted(before, 'sync'))).toEqual({});
    const count = (s: Sample[]) => valueOf(s, 'coupon_issue_duration_seconds_count', { path: 'async' }) ?? 0;
    expect(count(after) - count(before)).toBe(load.total);
    const inf = (s: Sample[]) => valueOf(s, 'coupon_issue_duration_seconds_bucket', { path: 'async', le: '+Inf' }) ?? 0;
    expect(inf(after) - inf(before)).toBe(load.total);
    expect(after.filter((s) => s.name === 'coupon_issue_requests_total').every((s) => Object.keys(s.labels).sort().join() === 'code,path')).toBe(true);
  });

  it('counts sync answers under path="sync", refusals and bad requests by their code', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 20 });
    const before = answersCounted(await scrape(), 'sync');
    const load = await fireIssues([ctx.url], '/v1/issue', floodBodies(couponId, 60, 20), 32);
    expect(load.outcomes['200']).toBe(20);
    const bad = await ctx.app.inject({ method: 'POST', url: '/v1/issue', payload: { userId: '1', couponId } });
    expect(bad.statusCode).toBe(400);
    const unknown = await ctx.app.inject({ method: 'POST', url: '/v1/issue', payload: { userId: 1, couponId: 987654321 } });
    expect(unknown.statusCode).toBe(404);
    const expected = byCode({ ...load.outcomes, '400 INVALID_REQUEST': 1, '404 COUPON_NOT_EXIST': 1 });
    let after: Record<string, number> = {};
    await waitUntil('every answer counted', async () => {
      after = diff(answersCounted(await scrape(), 'sync'), before);
      return Object.values(after).reduce((a, b) => a + b, 0) >= load.total + 2;
    });
    expect(after).toEqual(expected);
  });

  it('per-coupon gauges: queued, then pending, then persisted, with a zero gap after the drain', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 500 });
    const load = await fireIssues([ctx.url], '/v1/issue-async', floodBodies(couponId, 800, 100), 64);
    expect(load.outcomes['202']).toBe(500);
    const id = { coupon_id: String(couponId) };
    const gauges = (s: Sample[]) => Object.fromEntries(
      ['coupon_total_quantity', 'coupon_reserved', 'coupon_persisted', 'coupon_stream_lag', 'coupon_stream_pending', 'coupon_consistency_gap']
        .map((n) => [n, valueOf(s, n, id)]),
    );
    const expectGauges = async (want: Record<string, number>) => {
      let last: Record<string, unknown> = {};
      await waitUntil(`gauges ${JSON.stringify(want)}`, async () => {
        last = gauges(await scrape());
        return JSON.stringify(last) === JSON.stringify(want);
      }, 10_000).catch((err: Error) => { throw new Error(`${err.message}; last read ${JSON.stringify(last)}`); });
    };
    await expectGauges({
      coupon_total_quantity: 500, coupon_reserved: 500, coupon_persisted: 0,
      coupon_stream_lag: 500, coupon_stream_pending: 0, coupon_consistency_gap: 0,
    });
    // A consumer that reads 120 entries and has not acknowledged them yet.
    await ctx.t.deps.redis.xreadgroup('GROUP', CONSUMER_GROUP, 'slow', 'COUNT', 120, 'STREAMS', ctx.t.deps.keys.stream(couponId), '>');
    await expectGauges({
      coupon_total_quantity: 500, coupon_reserved: 500, coupon_persisted: 0,
      coupon_stream_lag: 380, coupon_stream_pending: 120, coupon_consistency_gap: 0,
    });
    // Under the same name, the consumer first finishes its own pending entries, then the rest.
    await drainWith({ name: 'slow' }, couponId);
    await expectGauges({
      coupon_total_quantity: 500, coupon_reserved: 500, coupon_persisted: 500,
      coupon_stream_lag: 0, coupon_stream_pending: 0, coupon_consistency_gap: 0,
    });
  });

  it('a sync coupon reports issued_quantity as taken and no stream; unlimited is -1; a coupon outside the watch is absent', async () => {
    const sync = await insertTestCoupon(ctx.t.deps, { total: 10 });
    await fireIssues([ctx.url], '/v1/issue', floodBodies(sync, 15, 0), 8);
    const unlimited = await insertTestCoupon(ctx.t.deps, { total: null });
    const longClosed = await insertTestCoupon(ctx.t.deps, { total: 5, start: new Date(Date.now() - 3 * 3_600_000), end: new Date(Date.now() - 2 * 3_600_000) });
    const notOpen = await insertTestCoupon(ctx.t.deps, { total: 5, start: new Date(Date.now() + 3_600_000), end: new Date(Date.now() + 7_200_000) });
    let samples: Sample[] = [];
    await waitUntil('gauges of the new coupons', async () => {
      samples = await scrape();
      return valueOf(samples, 'coupon_total_quantity', { coupon_id: String(unlimited) }) !== undefined;
    }, 10_000);
    const of = (name: string, couponId: number) => valueOf(samples, name, { coupon_id: String(couponId) });
    expect([of('coupon_total_quantity', sync), of('coupon_reserved', sync), of('coupon_persisted', sync), of('coupon_consistency_gap', sync)]).toEqual([10, 10, 10, 0]);
    expect([of('coupon_stream_lag', sync), of('coupon_stream_pending', sync)]).toEqual([undefined, undefined]);
    expect(of('coupon_total_quantity', unlimited)).toBe(-1);
    for (const outside of [longClosed, notOpen]) {
      expect(samples.filter((s) => s.labels.coupon_id === String(outside))).toEqual([]);
    }
  });

  it('exports the consumer\'s counters and batch histogram from its own stats', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 400 });
    await fireIssues([ctx.url], '/v1/issue-async', floodBodies(couponId, 400, 0), 64);
    // 150 entries held by a consumer that dies: another takes them back once they have been idle long enough.
    await ctx.t.deps.redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead', 'COUNT', 150, 'STREAMS', ctx.t.deps.keys.stream(couponId), '>');
    await ctx.t.deps.redis.xadd(ctx.t.deps.keys.stream(couponId), '*', 'u', 'not-a-user', 't', 'x');
    const registry = new Registry();
    let observe: (s: number) => void = () => undefined;
    const consumer = new PersistConsumer(ctx.t.deps, { ...consumerOpts, name: 'metered', claimIdleMs: 100, onBatchPersisted: (s) => observe(s) });
    observe = registerConsumerMetrics(registry, consumer.stats);
    await new Promise((r) => setTimeout(r, 150)); // the dead consumer's entries become idle past claimIdleMs
    const running = consumer.run();
    await waitForDrain(ctx.t.deps, couponId);
    consumer.stop();
    await running;
    const samples = parseSamples(await registry.metrics());
    expect(valueOf(samples, 'coupon_consumer_persisted_total')).toBe(400);
    expect(valueOf(samples, 'coupon_consumer_dead_letters_total')).toBe(1);
    expect(valueOf(samples, 'coupon_consumer_reclaimed_total')).toBe(consumer.stats.reclaimed);
    expect(consumer.stats.reclaimed).toBeGreaterThanOrEqual(150);
    const batches = valueOf(samples, 'coupon_consumer_batches_total');
    expect(batches).toBe(consumer.stats.batches);
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'coupon_consumer_batch_duration_seconds_count')).toBe(batches);
  });

  it('METRICS_ENABLED=0: no /metrics route, nothing recorded (no live answer counts either), issuing unchanged', async () => {
    const off = await buildApp({ ...ctx.t.deps, config: loadConfig({ ...ctx.t.env, METRICS_ENABLED: '0' }) });
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 1 });
    try {
      expect((await off.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 1, couponId } })).statusCode).toBe(202);
      const res = await off.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    } finally {
      await off.close(); // would flush the live counts, were any recorded
    }
    const liveKey = ctx.t.deps.keys.liveSecond(couponId, 0).replace(/0$/, '*');
    expect(await ctx.t.deps.redis.keys(liveKey)).toEqual([]);
  });
});

describe('request ids', () => {
  it('returns a fresh id in x-request-id on every answer, and the request log line carries it', async () => {
    const couponId = await insertTestCoupon(ctx.t.deps, { total: 5 });
    const answers = await Promise.all([1, 2, 3].map((userId) => ctx.app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId, couponId } })));
    const ids = answers.map((a) => a.headers['x-request-id']);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
      expect(logLines.filter((l) => l.reqId === id && l.msg === 'request')).toEqual([
        expect.objectContaining({ method: 'POST', url: '/v1/issue-async', status: 202 }),
      ]);
    }
    const refused = await ctx.app.inject({ url: '/v1/coupons/987654321' });
    expect(refused.statusCode).toBe(404);
    expect(refused.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('writes no line per request without LOG_REQUESTS, at info too; the answer still carries its id', async () => {
    const lines: Record<string, unknown>[] = [];
    const quiet = await buildApp({ ...ctx.t.deps, config: loadConfig({ ...ctx.t.env, LOG_LEVEL: 'info' }), log: pino({ level: 'info' }, jsonLines(lines)) });
    try {
      const res = await quiet.inject({ url: '/v1/coupons/987654321' });
      expect(res.statusCode).toBe(404);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
      expect(lines.filter((l) => l.msg === 'request')).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('keeps an id a proxy passed in, and replaces one unfit for the logs', async () => {
    const kept = await ctx.app.inject({ url: '/health', headers: { 'x-request-id': 'edge-42.abc' } });
    expect(kept.headers['x-request-id']).toBe('edge-42.abc');
    expect(logLines.some((l) => l.reqId === 'edge-42.abc' && l.url === '/health')).toBe(true);
    const replaced = await ctx.app.inject({ url: '/health', headers: { 'x-request-id': 'bad id\twith "quotes"' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  });
});
