import { describe, expect, it } from 'vitest';
import { buildRow } from '../../src/bench/bench-row.js';
import { mergeLoads, type LoadResult } from '../../src/bench/load-result.js';
import { planScenario, targetOf } from '../../src/bench/scenarios.js';
import type { Outcome } from '../../src/harness/verify.js';

const NOT_READ = { api: null, redis: null, mysql: null, consumer: null };
const settings = { quantity: 100, coupons: 3, users: undefined, repeatShare: 0 };
const load = (responses: Record<string, number>): LoadResult => ({
  generator: 'wrk', durationSec: 1, responses, requestsPerSec: 1000, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, errors: 0,
});
const outcome = (over: Partial<Outcome>): Outcome => ({
  total: 100, rows: 100, overIssued: 0, duplicates: 0, counterDrift: 0, couponsNotFull: 0,
  redisReserved: 0, streamLeft: 0, issuingMs: 10, ...over,
});
const row = (scenario: 'flood' | 'many', responses: Record<string, number>, o: Outcome) => buildRow({
  strategy: 'mysql-atomic', variant: 'default', target: targetOf('mysql-atomic'), plan: planScenario(scenario, settings),
  load: load(responses), connections: 8, rate: null, outcome: o, drain: null, consumer: null, cpu: NOT_READ,
});

describe('the bench verdict', () => {
  it('passes a flood that issued exactly the stock and refused the rest', () => {
    expect(row('flood', { '200': 100, '409 INVALID_COUPON_ISSUE_QUANTITY': 900 }, outcome({})).exact).toBe(true);
  });

  it('fails a run answered with 5xx, even with nothing over-issued', () => {
    const r = row('flood', { '503 UNAVAILABLE': 800, '500 INTERNAL_ERROR': 200 }, outcome({ rows: 0, couponsNotFull: 1 }));
    expect(r.exact).toBe(false);
    expect(r.failures.join()).toContain('unexpected answers');
  });

  it('fails "sold out" answered in the many scenario while no coupon is full', () => {
    const r = row('many', { '200': 150, '409 INVALID_COUPON_ISSUE_QUANTITY': 500 }, outcome({ total: 300, rows: 150, couponsNotFull: 3 }));
    expect(r.exact).toBe(false);
    expect(r.failures.join()).toContain('sold out');
  });

  it('fails an over-issue', () => {
    expect(row('flood', { '200': 101 }, outcome({ rows: 101, overIssued: 1 })).exact).toBe(false);
  });

  it('divides each component\'s CPU by the requests answered, and the consumer\'s also by the rows it persisted', () => {
    const r = buildRow({
      strategy: 'redis-async', variant: 'default', target: targetOf('redis-async'), plan: planScenario('flood', settings),
      load: load({ '202': 100, '409 INVALID_COUPON_ISSUE_QUANTITY': 900 }), connections: 8, rate: null, outcome: outcome({ redisReserved: 100 }),
      drain: null, consumer: 'live', cpu: { api: 30_000, redis: 12_345, mysql: null, consumer: 5_000 },
    });
    expect(r.cpuUsPerRequest).toEqual({ api: 30, redis: 12.3, mysql: null, consumer: 5 });
    expect(r.consumerCpuUsPerReservation).toBe(50);
    expect(row('flood', { '200': 100 }, outcome({})).consumerCpuUsPerReservation).toBeNull();
  });

  it('requires process-lock to be exact only with one API process (its lock lives in one process\'s memory)', () => {
    expect(targetOf('process-lock', 1).mustBeExact).toBe(true);
    expect(targetOf('process-lock', 2).mustBeExact).toBe(false);
    expect(targetOf('mysql-lock', 2).mustBeExact).toBe(true);
  });

  it('merges the turns of one load: counts and time summed, percentiles weighted by answers, the largest maximum', () => {
    const turn = (answers: number, p: number, max: number): LoadResult => ({
      generator: 'wrk', durationSec: 1, responses: { '200': answers }, requestsPerSec: answers, latencyMs: { p50: p, p90: p, p99: p, max }, errors: 1,
    });
    const merged = mergeLoads([turn(300, 1, 5), turn(100, 5, 9)]);
    expect(merged).toMatchObject({ durationSec: 2, responses: { '200': 400 }, requestsPerSec: 200, errors: 2, latencyMs: { p50: 2, p99: 2, max: 9 } });
  });
});
