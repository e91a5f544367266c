import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../adapters/mysql/migrations.js';
import { createCouponEvents, hasRoute, type ApiTarget } from './api-client.js';
import { dropDatabase, withDatabase } from './database.js';
import { buildRow, withBaselineRatios, type BenchRow } from './bench-row.js';
import { resolveGenerator, runLoad, type GeneratorChoice } from './load-generator.js';
import type { GeneratorName, LoadResult } from './load-result.js';
import { round } from './load-result.js';
import { startProgress } from './progress.js';
import { createCounterBuffer } from './response-counters.cjs';
import { planScenario, targetOf, type BenchStrategy, type ScenarioName, type ScenarioPlan } from './scenarios.js';
import { startApi, startConsumer, type ServiceEnv, type ServiceProcess } from './service-processes.js';
import { deleteKeysWithPrefix } from '../adapters/redis/client.js';
import { openStore, readSettledOutcome, waitForDrain, type Drain, type Store } from './verify.js';
import { runWrk, wrkAvailable } from './wrk-generator.js';

export interface BenchOptions {
  readonly strategies: readonly BenchStrategy[];
  readonly scenarios: readonly ScenarioName[];
  readonly durationSec: number;
  readonly connections: number;
  readonly rate: number | null;
  readonly quantity: number;
  readonly coupons: number;
  readonly users: number | undefined;
  readonly repeatShare: number;
  readonly generator: GeneratorName | 'auto';
  readonly workers: number;
  readonly wrkThreads: number;
  readonly warmupSec: number;
  /** A running service to target instead of starting our own. */
  readonly url: string | undefined;
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  /** Used as-is with --url; otherwise the bench nests a prefix of its own under it. */
  readonly redisKeyPrefix: string;
  readonly adminToken: string | undefined;
  /** Database the bench creates, migrates and drops (ignored with --url); default fcfs_bench_<run id>. */
  readonly database: string | undefined;
  readonly keepData: boolean;
  readonly cpuProfDir: string | undefined;
  readonly drainTimeoutSec: number;
  readonly progress: boolean;
  /** Compare the baseline through our generator with `wrk -t1 -c64` when wrk is installed. */
  readonly generatorCheck: boolean;
  readonly log: (line: string) => void;
}

export interface GeneratorCheck {
  readonly generator: string;
  readonly generatorRequestsPerSec: number;
  readonly wrkRequestsPerSec: number;
  /** Ours over wrk's: within 0.9..1.1 means the generator is not what bounds the baseline. */
  readonly ratio: number;
}

export interface BenchResult {
  readonly startedAt: string;
  readonly options: Record<string, unknown>;
  readonly rows: readonly BenchRow[];
  readonly skipped: readonly { strategy: string; reason: string }[];
  readonly generatorCheck: GeneratorCheck | null;
  /** One line per non-exact row of a strategy that must be exact; empty means exit 0. */
  readonly failures: readonly string[];
}

interface Running {
  readonly url: string;
  readonly consumer: ServiceProcess | undefined;
  stop(): Promise<void>;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const runId = randomBytes(4).toString('hex');
  const external = opts.url !== undefined;
  // Nested under the configured prefix, so a test or a shared Redis can still find and clear it.
  const prefix = external ? opts.redisKeyPrefix : `${opts.redisKeyPrefix}bench-${runId}:`;
  const database = opts.database ?? `fcfs_bench_${runId}`;
  const mysqlUrl = external ? opts.mysqlUrl : withDatabase(opts.mysqlUrl, database);
  const choice: GeneratorChoice = { generator: resolveGenerator(opts.generator), workers: opts.workers, wrkThreads: opts.wrkThreads };
  const env: ServiceEnv = {
    mysqlUrl, redisUrl: opts.redisUrl, redisKeyPrefix: prefix,
    logDir: join(tmpdir(), `coupon-bench-${runId}`), cpuProfDir: opts.cpuProfDir,
  };
  if (!external) {
    await dropDatabase(opts.mysqlUrl, database);
    await migrate(mysqlUrl);
  }
  const store = openStore(mysqlUrl, opts.redisUrl, prefix);
  const rows: BenchRow[] = [];
  const skipped: { strategy: string; reason: string }[] = [];
  let generatorCheck: GeneratorCheck | null = null;
  let running: Running | undefined;
  let cleaned: Promise<void> | undefined;
  // Run once, on the way out or on a signal: the service children, the database and the keys are the run's own.
  const cleanUp = (): Promise<void> => (cleaned ??= (async () => {
    await running?.stop().catch(() => {});
    if (!external && !opts.keepData) {
      await deleteKeysWithPrefix(store.redis, prefix).catch(() => {});
      await store.close();
      await dropDatabase(opts.mysqlUrl, database).catch(() => {});
    } else {
      await store.close();
    }
  })());
  const onSignal = (signal: NodeJS.Signals): void => {
    opts.log(`${signal}: stopping the bench's services and removing its data`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const strategy of opts.strategies) {
      const target = targetOf(strategy);
      running = await startServices(strategy, env, opts);
      try {
        if (!(await hasRoute(running.url, target.path))) {
          skipped.push({ strategy, reason: `the server has no route ${target.path}` });
          opts.log(`skipped ${strategy}: the server has no route ${target.path}`);
          continue;
        }
        const api: ApiTarget = { url: running.url, adminToken: opts.adminToken };
        if (opts.warmupSec > 0) await warmUp(strategy, api, opts, choice);
        for (const scenario of opts.scenarios) {
          const row = await runScenario(strategy, planScenario(scenario, opts), api, running.consumer, store, opts, choice);
          rows.push(row);
          opts.log(summaryLine(row));
          if (strategy === 'baseline' && scenario === opts.scenarios[0] && opts.generatorCheck && opts.rate === null && wrkAvailable()) {
            generatorCheck = await checkGenerator(row, running.url, opts);
            opts.log(`generator check: ${row.generator} ${row.requestsPerSec} req/s vs wrk -t1 -c64 ${generatorCheck.wrkRequestsPerSec} req/s (ratio ${generatorCheck.ratio})`);
          }
        }
      } finally {
        await running.stop();
        running = undefined;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
  const finalRows = withBaselineRatios(rows);
  const failures = finalRows
    .filter((r) => r.exact === false)
    .map((r) => `${r.strategy} / ${r.scenario}: ${r.failures.join('; ')}`);
  for (const s of skipped) {
    // A strategy asked for by name must be measured; the default "all" tolerates a missing one.
    if (opts.strategies.length < 7 || external) failures.push(`${s.strategy}: skipped, ${s.reason}`);
  }
  return {
    startedAt,
    options: {
      strategies: opts.strategies, scenarios: opts.scenarios, durationSec: opts.durationSec, connections: opts.connections,
      rate: opts.rate, quantity: opts.quantity, coupons: opts.coupons, users: opts.users ?? null, repeatShare: opts.repeatShare,
      generator: choice.generator, workers: choice.workers, wrkThreads: choice.wrkThreads, warmupSec: opts.warmupSec, url: opts.url ?? null,
    },
    rows: finalRows,
    skipped,
    generatorCheck,
    failures,
  };
}

async function startServices(strategy: BenchStrategy, env: ServiceEnv, opts: BenchOptions): Promise<Running> {
  if (opts.url !== undefined) return { url: opts.url, consumer: undefined, stop: async () => {} };
  const target = targetOf(strategy);
  const api = await startApi(`${strategy}-api`, target.serverStrategy, env);
  let consumer: ServiceProcess | undefined;
  if (target.needsConsumer) {
    try {
      consumer = await startConsumer(`${strategy}-consumer`, env);
    } catch (err) {
      await api.stop();
      throw err;
    }
  }
  return {
    url: api.url,
    consumer,
    async stop() {
      await Promise.all([api.stop(), consumer?.stop()]);
    },
  };
}

/** Warms the JIT and the pools on a coupon of its own, so the first scenario is not measured cold. */
async function warmUp(strategy: BenchStrategy, api: ApiTarget, opts: BenchOptions, choice: GeneratorChoice): Promise<void> {
  const target = targetOf(strategy);
  const couponIds = target.path === '/bench/noop' ? [1] : await createCouponEvents(api, `bench warm-up ${strategy}`, 1, 100_000_000);
  await runLoad({
    url: api.url, durationSec: opts.warmupSec, connections: opts.connections, rate: opts.rate,
    spec: { path: target.path, couponIds, users: 0, repeatShare: 0 }, counters: createCounterBuffer(),
  }, choice);
}

async function runScenario(
  strategy: BenchStrategy, plan: ScenarioPlan, api: ApiTarget, consumer: ServiceProcess | undefined,
  store: Store, opts: BenchOptions, choice: GeneratorChoice,
): Promise<BenchRow> {
  const target = targetOf(strategy);
  const couponIds = target.verified
    ? await createCouponEvents(api, `bench ${strategy} ${plan.name}`, plan.couponCount, plan.quantityPerCoupon)
    : Array.from({ length: plan.couponCount }, (_, i) => i + 1);
  const hold = consumer !== undefined && plan.consumer === 'held';
  if (hold) consumer.pause();
  const counters = createCounterBuffer();
  const progress = startProgress(`${strategy} / ${plan.name}`, opts.durationSec, counters, opts.progress);
  let load: LoadResult;
  try {
    load = await runLoad({
      url: api.url, durationSec: opts.durationSec, connections: opts.connections, rate: opts.rate,
      spec: { path: target.path, couponIds, users: plan.users, repeatShare: plan.repeatShare }, counters,
    }, choice);
  } finally {
    progress.stop();
    if (hold) consumer.resume();
  }
  let drain: Drain | null = null;
  if (target.needsConsumer) drain = await waitForDrain(store, couponIds, opts.drainTimeoutSec * 1000);
  const outcome = target.verified ? await readSettledOutcome(store, couponIds) : null;
  return buildRow({
    strategy, target, plan, load, outcome, drain,
    connections: opts.connections, rate: opts.rate,
    consumer: target.needsConsumer ? (consumer === undefined ? 'live' : plan.consumer) : null,
  });
}

async function checkGenerator(ours: BenchRow, url: string, opts: BenchOptions): Promise<GeneratorCheck> {
  const wrk = await runWrk({
    url, durationSec: opts.durationSec, connections: 64, rate: null,
    spec: { path: '/bench/noop', couponIds: [1], users: 0, repeatShare: 0 }, counters: createCounterBuffer(),
  }, { threads: 1, countResponses: false });
  return {
    generator: `${ours.generator} -c${ours.connections}`,
    generatorRequestsPerSec: ours.requestsPerSec,
    wrkRequestsPerSec: wrk.requestsPerSec,
    ratio: round(ours.requestsPerSec / wrk.requestsPerSec, 3),
  };
}

function summaryLine(r: BenchRow): string {
  const verdict = r.exact === null ? '' : r.exact ? ' exact' : ` NOT EXACT: ${r.failures.join('; ')}`;
  const issued = r.issuedInMysql === null ? '' : ` issued ${r.issuedInMysql}/${r.quantity}`;
  return `${r.strategy} / ${r.scenario}: ${r.requestsPerSec} req/s, p99 ${r.latencyMs.p99} ms${issued}${verdict}`;
}
