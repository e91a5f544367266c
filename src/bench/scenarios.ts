/** Every strategy the bench can measure: the five sync ones, the async path, and the no-I/O ceiling. */
export const BENCH_STRATEGIES = ['baseline', 'none', 'process-lock', 'redis-lock', 'mysql-lock', 'mysql-atomic', 'redis-async'] as const;
export type BenchStrategy = (typeof BENCH_STRATEGIES)[number];

export const SCENARIOS = ['flood', 'many', 'repeat'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Scenarios with a driver of their own, run once rather than per strategy (waiting-room-scenario.ts); asked for by name. */
export const OWN_DRIVER_SCENARIOS = ['waiting-room'] as const;
export type AnyScenarioName = ScenarioName | (typeof OWN_DRIVER_SCENARIOS)[number];

export interface ScenarioSettings {
  readonly quantity: number;
  /** Coupons of the `many` scenario. */
  readonly coupons: number;
  /** User pool; undefined: fresh users (flood, many), 2x quantity (repeat). */
  readonly users: number | undefined;
  readonly repeatShare: number;
}

export interface ScenarioPlan {
  readonly name: ScenarioName;
  readonly couponCount: number;
  readonly quantityPerCoupon: number;
  readonly users: number;
  readonly repeatShare: number;
  /**
   * `held`: the consumer is stopped (SIGSTOP) while the load runs and resumed after it, so the
   * whole run is one backlog and its drain times the consumer alone. `live`: it runs throughout.
   */
  readonly consumer: 'live' | 'held';
}

export function planScenario(name: ScenarioName, s: ScenarioSettings): ScenarioPlan {
  switch (name) {
    case 'flood':
      // The opening moment: one hot coupon, demand far above stock.
      return { name, couponCount: 1, quantityPerCoupon: s.quantity, users: s.users ?? 0, repeatShare: s.repeatShare, consumer: 'live' };
    case 'many':
      // Many events open at once: the load spreads over rows (and Redis keys), and the stock lasts,
      // so it is also where the async path builds the largest backlog: we time its drain here.
      return { name, couponCount: s.coupons, quantityPerCoupon: s.quantity, users: s.users ?? 0, repeatShare: s.repeatShare, consumer: 'held' };
    case 'repeat':
      // The same users hammering retry: most requests are duplicates.
      return { name, couponCount: 1, quantityPerCoupon: s.quantity, users: s.users ?? 2 * s.quantity, repeatShare: 0, consumer: 'live' };
  }
}

/** The no-op route of the bench's own baseline server (src/bench/baseline-server.ts). */
export const BASELINE_PATH = '/bench/noop';

export interface StrategyTarget {
  /** Route the load goes to. */
  readonly path: string;
  /** ISSUE_STRATEGY of the api child (irrelevant to the async route; the baseline has a server of its own). */
  readonly serverStrategy: string;
  readonly needsConsumer: boolean;
  /** Whether the outcome is checked (the baseline writes nothing; `none` is checked but expected to fail). */
  readonly verified: boolean;
  /** Whether an inexact outcome fails the run. */
  readonly mustBeExact: boolean;
}

/** `apiWorkers`: API processes behind the port; a lock held in one process's memory is exact only with one. */
export function targetOf(strategy: BenchStrategy, apiWorkers = 1): StrategyTarget {
  switch (strategy) {
    case 'baseline':
      return { path: BASELINE_PATH, serverStrategy: 'mysql-atomic', needsConsumer: false, verified: false, mustBeExact: false };
    case 'redis-async':
      return { path: '/v1/issue-async', serverStrategy: 'mysql-atomic', needsConsumer: true, verified: true, mustBeExact: true };
    case 'none':
      return { path: '/v1/issue', serverStrategy: 'none', needsConsumer: false, verified: true, mustBeExact: false };
    default:
      return { path: '/v1/issue', serverStrategy: strategy, needsConsumer: false, verified: true, mustBeExact: strategy !== 'process-lock' || apiWorkers === 1 };
  }
}
