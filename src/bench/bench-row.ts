import { succeededOf } from '../harness/flood.js';
import { round, totalOf, type LatencyMs, type LoadResult } from './load-result.js';
import type { BenchStrategy, ScenarioPlan, StrategyTarget } from './scenarios.js';
import type { Drain, Outcome } from '../harness/verify.js';
import { CPU_COMPONENTS, type CpuComponent, type CpuUs } from './process-cpu.js';

/** One line of the report and one object of --json: a strategy under a scenario. */
export interface BenchRow {
  readonly strategy: BenchStrategy;
  /** The preset of --variants the services ran under ('default' unless asked). */
  readonly variant: string;
  readonly scenario: string;
  readonly model: 'closed' | 'open';
  readonly generator: string;
  readonly connections: number;
  readonly rate: number | null;
  readonly durationSec: number;
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly latencyMs: LatencyMs;
  readonly responses: Readonly<Record<string, number>>;
  /** Requests with no HTTP answer (connection errors, timeouts). */
  readonly errors: number;
  /** 2xx answers: users told they got the coupon. */
  readonly succeeded: number;
  readonly coupons: number;
  /** Units on offer over the scenario's coupons. */
  readonly quantity: number;
  /** null where nothing is written (baseline). */
  readonly issuedInMysql: number | null;
  readonly overIssued: number | null;
  readonly duplicates: number | null;
  readonly counterDrift: number | null;
  /** Issues per second over the rows' date_issued span: the phase before the stock ran out. */
  readonly issuingPerSec: number | null;
  /** Async path only: units reserved in Redis, whether Redis and MySQL agree after the drain. */
  readonly redisReserved: number | null;
  readonly redisMysqlAgree: boolean | null;
  readonly consumer: 'live' | 'held' | null;
  /** Rows written after the load ended, and how fast; with a held consumer, its whole-run drain. */
  readonly drainBacklog: number | null;
  readonly drainRowsPerSec: number | null;
  readonly ratioToBaseline: number | null;
  /**
   * µs of CPU per answered request, by component, from the load's start to the end of the consumer's
   * drain (the consumer works mostly after the load: its share is still per request here). null: not
   * readable (not Linux, a server on another machine, --url's API).
   */
  readonly cpuUsPerRequest: Readonly<Record<CpuComponent, number | null>>;
  /** The consumer's CPU per reservation it persisted (rows in MySQL), not per request. */
  readonly consumerCpuUsPerReservation: number | null;
  /** null: not judged (baseline, `none`). */
  readonly exact: boolean | null;
  readonly failures: readonly string[];
}

export interface RowInput {
  readonly strategy: BenchStrategy;
  readonly variant: string;
  readonly target: StrategyTarget;
  readonly plan: ScenarioPlan;
  readonly load: LoadResult;
  readonly connections: number;
  readonly rate: number | null;
  readonly outcome: Outcome | null;
  readonly drain: Drain | null;
  readonly consumer: 'live' | 'held' | null;
  readonly cpu: CpuUs;
  /** How many turns the load ran in (side by side with other variants); 1 when alone. */
  readonly turns?: number;
}

const EXPECTED_REFUSALS = new Set(['409 INVALID_COUPON_ISSUE_QUANTITY', '409 DUPLICATED_COUPON_ISSUE']);

/** What "exact" means, checked against MySQL and Redis rather than the responses alone. */
export function findFailures(input: RowInput): string[] {
  const { outcome: o, load, plan, drain } = input;
  if (!o) return [];
  const failures: string[] = [];
  const succeeded = succeededOf(load.responses);
  const soldOut = load.responses['409 INVALID_COUPON_ISSUE_QUANTITY'] ?? 0;
  if (o.overIssued > 0) failures.push(`over-issued ${o.overIssued}`);
  if (o.duplicates > 0) failures.push(`${o.duplicates} duplicate rows`);
  // Requests with no counted answer may have been issued: those that failed, and in the closed
  // model those still in flight on each connection when the generator stopped at the deadline (of each turn).
  const uncounted = load.errors + (input.rate === null ? input.connections * (input.turns ?? 1) : 0);
  if (o.rows < succeeded || o.rows > succeeded + uncounted) failures.push(`${succeeded} told success but ${o.rows} rows in MySQL`);
  if (o.counterDrift !== 0) failures.push(`issued_quantity off by ${o.counterDrift}`);
  // A sold-out answer is right only for a coupon that is full: with one coupon, it must be; with many,
  // at least one must be (answers are not traced back to their coupon).
  if (soldOut > 0 && o.couponsNotFull === plan.couponCount) failures.push(`answered sold out ${soldOut} times with no coupon full (${o.rows} of ${o.total} issued)`);
  // An exact strategy answers only success or the two expected refusals: a 5xx or any other code fails it.
  const unexpected = Object.entries(load.responses).filter(([key]) => !key.startsWith('2') && !EXPECTED_REFUSALS.has(key));
  if (unexpected.length) failures.push(`unexpected answers: ${unexpected.map(([k, n]) => `${n} x ${k}`).join(', ')}`);
  if (input.target.needsConsumer) {
    if (drain && !drain.drained) failures.push('consumer did not drain in time');
    if (o.redisReserved !== o.rows) failures.push(`Redis holds ${o.redisReserved} reservations, MySQL ${o.rows} rows`);
    if (o.streamLeft > 0) failures.push(`${o.streamLeft} stream entries left`);
  }
  return failures;
}

export function buildRow(input: RowInput): BenchRow {
  const { load, outcome: o, drain, plan, target, cpu } = input;
  const failures = findFailures(input);
  const requests = totalOf(load.responses);
  const per = (us: number | null, n: number) => (us === null || n <= 0 ? null : round(us / n, 1));
  return {
    strategy: input.strategy,
    variant: input.variant,
    scenario: plan.name,
    model: input.rate === null ? 'closed' : 'open',
    generator: load.generator,
    connections: input.connections,
    rate: input.rate,
    durationSec: round(load.durationSec, 2),
    requests,
    requestsPerSec: load.requestsPerSec,
    latencyMs: load.latencyMs,
    responses: load.responses,
    errors: load.errors,
    succeeded: succeededOf(load.responses),
    coupons: plan.couponCount,
    quantity: plan.couponCount * plan.quantityPerCoupon,
    issuedInMysql: o?.rows ?? null,
    overIssued: o?.overIssued ?? null,
    duplicates: o?.duplicates ?? null,
    counterDrift: o?.counterDrift ?? null,
    issuingPerSec: o && o.issuingMs !== null && o.issuingMs > 0 ? round((o.rows / o.issuingMs) * 1000, 0) : null,
    redisReserved: target.needsConsumer && o ? o.redisReserved : null,
    redisMysqlAgree: target.needsConsumer && o ? o.redisReserved === o.rows && o.streamLeft === 0 : null,
    consumer: input.consumer,
    drainBacklog: drain?.backlog ?? null,
    // Below ~50 ms the 5 ms polling makes a rate meaningless.
    drainRowsPerSec: drain && drain.drained && drain.backlog > 0 && drain.ms >= 50 ? round((drain.backlog / drain.ms) * 1000, 0) : null,
    ratioToBaseline: null,
    cpuUsPerRequest: Object.fromEntries(CPU_COMPONENTS.map((c) => [c, per(cpu[c], requests)])) as BenchRow['cpuUsPerRequest'],
    consumerCpuUsPerReservation: target.needsConsumer && o ? per(cpu.consumer, o.rows) : null,
    exact: o && target.mustBeExact ? failures.length === 0 : null,
    failures,
  };
}

/** Each row's requests/s over the baseline's in the same scenario and variant of the same run. */
export function withBaselineRatios(rows: readonly BenchRow[]): BenchRow[] {
  return rows.map((r) => {
    const base = rows.find((b) => b.strategy === 'baseline' && b.scenario === r.scenario && b.variant === r.variant);
    return { ...r, ratioToBaseline: base && base.requestsPerSec > 0 ? round(r.requestsPerSec / base.requestsPerSec, 3) : null };
  });
}

/** Names a strategy in logs and failures; with its variant only when the run has more than one. */
export function strategyLabel(strategy: string, variant: string, variants: number): string {
  return variants > 1 ? `${strategy} [${variant}]` : strategy;
}

export function rowLabel(r: Pick<BenchRow, 'strategy' | 'scenario' | 'variant'>, variants: number): string {
  return `${strategyLabel(r.strategy, r.variant, variants)} / ${r.scenario}`;
}

export function variantCount(rows: readonly Pick<BenchRow, 'variant'>[]): number {
  return new Set(rows.map((r) => r.variant)).size;
}
