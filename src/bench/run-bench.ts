import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { migrate } from '../adapters/mysql/migrations.js';
import { deleteKeysWithPrefix, type RedisTarget } from '../adapters/redis/client.js';
import { createCouponEvents, hasRoute, type ApiTarget } from '../harness/api-client.js';
import { dropDatabase, withDatabase } from '../harness/database.js';
import { PERSISTENCE_OFF, startRedisServer } from '../harness/redis-server.js';
import { createLogDir, startConsumerProcess, startHttpProcess, stopAllChildren, type ServiceProcess } from '../harness/service-processes.js';
import type { RowDataPacket } from 'mysql2/promise';
import { openStore, readSettledOutcome, waitForDrain, type Drain, type Store } from '../harness/verify.js';
import { createJwtIdentity, tokenPoolSize } from './bench-tokens.js';
import { buildRow, rowLabel, strategyLabel, withBaselineRatios, type BenchRow } from './bench-row.js';
import { chooseGenerator, describeChoice, runLoad, strongerChoice, type GeneratorChoice } from './load-generator.js';
import type { GeneratorName, LoadResult } from './load-result.js';
import { mergeLoads, round } from './load-result.js';
import {
  cpuBetween, localPid, MYSQL_PROCESS_NAMES, processTrees, REDIS_PROCESS_NAMES, redisPidOf, sampleCpu, serverPid, threadsOf, type CpuTargets,
} from './process-cpu.js';
import { startProgress } from './progress.js';
import { createCounterBuffer } from './response-counters.cjs';
import { BASELINE_PATH, planScenario, targetOf, type BenchStrategy, type ScenarioName, type ScenarioPlan } from './scenarios.js';
import { variantOf, type BenchVariant, type VariantName } from './variants.js';

// Compiled beside this module; the bench runs it as a child process like the API.
const BASELINE_SERVER = fileURLToPath(new URL('./baseline-server.js', import.meta.url));

export interface BenchOptions {
  readonly strategies: readonly BenchStrategy[];
  /** Presets the strategies run under, one after another (see variants.ts). */
  readonly variants: readonly VariantName[];
  readonly scenarios: readonly ScenarioName[];
  readonly durationSec: number;
  readonly connections: number;
  readonly rate: number | null;
  readonly quantity: number;
  readonly coupons: number;
  readonly users: number | undefined;
  readonly repeatShare: number;
  readonly generator: GeneratorName | 'auto';
  /** autocannon worker threads; undefined: half the cores (load-generator.ts). */
  readonly workers: number | undefined;
  readonly wrkThreads: number;
  /** API_WORKERS of the API child: its worker processes count in its CPU. */
  readonly apiWorkers: number;
  /** Consumer processes of the async path, their CPU summed. */
  readonly consumers: number;
  /** A redis-server of the run's own (persistence off) for variants that use REDIS_URL: Redis's CPU is then the run's alone. */
  readonly ownRedis: boolean;
  readonly warmupSec: number;
  /** A running service to target instead of starting our own. */
  readonly url: string | undefined;
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  readonly redisClusterNodes: readonly string[] | null;
  /** Used as-is with --url; otherwise the bench nests a prefix of its own under it. */
  readonly redisKeyPrefix: string;
  readonly adminToken: string | undefined;
  /** Database the bench creates, migrates and drops (ignored with --url); default fcfs_bench_<run id>. */
  readonly database: string | undefined;
  readonly keepData: boolean;
  /** Keep the services' log folder after a run that went well (one that failed always keeps it). */
  readonly keepLogs: boolean;
  readonly cpuProfDir: string | undefined;
  readonly drainTimeoutSec: number;
  readonly progress: boolean;
  /** Compare the baseline through our generator with the same generator given one more thread. */
  readonly generatorCheck: boolean;
  readonly log: (line: string) => void;
}

export interface GeneratorCheck {
  readonly generator: string;
  readonly generatorRequestsPerSec: number;
  /** The same generator with one more thread (wrk) or worker thread (autocannon). */
  readonly stronger: string;
  readonly strongerRequestsPerSec: number;
  /** Ours over the stronger one's: 0.9 or more means more generator would not raise the baseline. */
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
  /** The services' log folder when kept (--keep-logs, or the run failed). */
  readonly logDir: string | undefined;
}

interface Running {
  readonly url: string;
  /** The API child (or the baseline server); undefined with --url. */
  readonly api: ServiceProcess | undefined;
  readonly consumers: readonly ServiceProcess[];
  stop(): Promise<void>;
}

/** Undo steps, run last in first out, each once: at the end of their part, on the way out, or on a signal. */
class Teardown {
  private readonly steps: (() => Promise<unknown>)[] = [];

  get depth(): number {
    return this.steps.length;
  }

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async unwind(toDepth = 0): Promise<void> {
    while (this.steps.length > toDepth) {
      const step = this.steps.pop();
      await step?.().catch(() => {});
    }
  }
}

/** Where one variant's services run and how its results are read. */
interface Stage {
  readonly variant: BenchVariant;
  /** The variant's own database (one per variant when several run). */
  readonly mysqlUrl: string;
  /** Reads the outcome from the variant's Redis: REDIS_URL, or its private redis-server. */
  readonly store: Store;
  /** Environment every service child of the variant gets. */
  readonly env: Readonly<Record<string, string>>;
  /** What the API child (and the baseline server) gets on top: the variant's, and its identity's. */
  readonly apiEnv: Readonly<Record<string, string>>;
  /** The variant's own admin token (jwt), else the configured one. */
  readonly adminToken: string | undefined;
  /** jwt: the pre-signed tokens every load of the variant sends (load-spec.cts). */
  readonly tokenFile: string | undefined;
  /** The variant's Redis and MySQL server processes when they run on this machine. */
  readonly serverPids: { readonly redis: number | undefined; readonly mysql: number | undefined };
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const runId = randomBytes(4).toString('hex');
  const external = opts.url !== undefined;
  if (external && (opts.ownRedis || opts.variants.some((v) => v !== 'default'))) {
    throw new Error('--variants and --own-redis set up services of their own; with --url only the default variant on REDIS_URL can run');
  }
  // Nested under the configured prefix, so a test or a shared Redis can still find and clear it.
  const prefix = external ? opts.redisKeyPrefix : `${opts.redisKeyPrefix}bench-${runId}:`;
  const database = opts.database ?? `fcfs_bench_${runId}`;
  // Several variants run side by side, each on a database of its own: MariaDB's CPU is then read per variant.
  const databases = opts.variants.map((_, i) => (opts.variants.length > 1 ? `${database}_${i + 1}` : database));
  const choice = chooseGenerator(opts.generator, opts.workers, opts.wrkThreads, opts.log);
  const logs = createLogDir('coupon-bench-', runId);
  const ctx: RunContext = { opts, choice, prefix, logDir: logs.path, variantCount: opts.variants.length };
  const teardown = new Teardown();
  const rows: BenchRow[] = [];
  const skipped: { strategy: string; reason: string }[] = [];
  let generatorCheck: GeneratorCheck | null = null;
  // The service children, private Redis servers, database and keys are the run's own: gone on a
  // signal too, with any child still starting (the run goes on in the background until the exit).
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    opts.log(`${signal}: stopping the bench's services and removing its data`);
    void teardown.unwind().then(stopAllChildren).then(() => logs.release(opts.keepLogs)).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let failed = true;
  try {
    const stages: Stage[] = [];
    for (const [i, name] of opts.variants.entries()) {
      const mysqlUrl = external ? opts.mysqlUrl : withDatabase(opts.mysqlUrl, databases[i]!);
      if (!external) {
        const db = databases[i]!;
        await dropDatabase(opts.mysqlUrl, db);
        if (!opts.keepData) teardown.add(() => dropDatabase(opts.mysqlUrl, db));
        await migrate(mysqlUrl);
      }
      // Coupon ids repeat across the variants' databases: their Redis keys get a prefix each.
      const prefix = opts.variants.length > 1 ? `${ctx.prefix}v${i + 1}:` : ctx.prefix;
      stages.push(await openStage(variantOf(name), { mysqlUrl, prefix }, ctx, teardown));
    }
    for (const strategy of opts.strategies) {
      const target = targetOf(strategy, opts.apiWorkers);
      const strategyDepth = teardown.depth;
      // Every variant's services at once, the same age, so they take turns on the same machine (runScenario).
      const group: Side[] = [];
      for (const stage of stages) {
        const running = await startServices(strategy, stage, ctx);
        teardown.add(() => running.stop());
        const label = strategyLabel(strategy, stage.variant.name, ctx.variantCount);
        if (await hasRoute(running.url, target.path)) group.push({ stage, running, api: { url: running.url, adminToken: stage.adminToken } });
        else {
          skipped.push({ strategy: label, reason: `the server has no route ${target.path}` });
          opts.log(`skipped ${label}: the server has no route ${target.path}`);
        }
      }
      if (opts.warmupSec > 0) for (const side of group) await warmUp(strategy, side.api, side.stage, ctx);
      for (const scenario of opts.scenarios) {
        if (group.length === 0) break;
        const scenarioRows = await runScenario(strategy, planScenario(scenario, opts), group, ctx);
        for (const row of scenarioRows) opts.log(summaryLine(row, ctx.variantCount));
        rows.push(...scenarioRows);
        const first = group[0]!;
        if (strategy === 'baseline' && generatorCheck === null && opts.generatorCheck && opts.rate === null) {
          generatorCheck = await checkGenerator(scenarioRows[0]!, first.running.url, first.stage.tokenFile, ctx);
          opts.log(`generator check: ${generatorCheck.generator} ${generatorCheck.generatorRequestsPerSec} req/s vs ${generatorCheck.stronger} ${generatorCheck.strongerRequestsPerSec} req/s (ratio ${generatorCheck.ratio})`);
        }
      }
      await teardown.unwind(strategyDepth);
    }
    // Grouped by variant, as the variants are listed.
    rows.sort((a, b) => opts.variants.indexOf(a.variant as VariantName) - opts.variants.indexOf(b.variant as VariantName));
    failed = false;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown.unwind();
    const kept = failed && !interrupted ? await logs.release(true) : undefined;
    if (kept !== undefined) opts.log(`the services' logs are kept in ${kept}`);
  }
  const finalRows = withBaselineRatios(rows);
  const failures = finalRows
    .filter((r) => r.exact === false)
    .map((r) => `${rowLabel(r, ctx.variantCount)}: ${r.failures.join('; ')}`);
  for (const s of skipped) {
    // A strategy asked for by name must be measured; the default "all" tolerates a missing one.
    if (opts.strategies.length < 7 || external) failures.push(`${s.strategy}: skipped, ${s.reason}`);
  }
  const logDir = await logs.release(opts.keepLogs || failures.length > 0);
  return {
    startedAt,
    options: {
      strategies: opts.strategies, variants: opts.variants, scenarios: opts.scenarios, durationSec: opts.durationSec, connections: opts.connections,
      rate: opts.rate, quantity: opts.quantity, coupons: opts.coupons, users: opts.users ?? null, repeatShare: opts.repeatShare,
      generator: choice.generator, workers: choice.workers, wrkThreads: choice.wrkThreads, warmupSec: opts.warmupSec, url: opts.url ?? null,
      apiWorkers: opts.apiWorkers, consumers: opts.consumers, ownRedis: opts.ownRedis,
    },
    rows: finalRows,
    skipped,
    generatorCheck,
    failures,
    logDir,
  };
}

interface RunContext {
  readonly opts: BenchOptions;
  readonly choice: GeneratorChoice;
  readonly prefix: string;
  readonly logDir: string;
  readonly variantCount: number;
}

/** Brings up a variant's Redis (a private server when it asks for one) and the store that verifies against it. */
async function openStage(variant: BenchVariant, own: { mysqlUrl: string; prefix: string }, ctx: RunContext, teardown: Teardown): Promise<Stage> {
  const { mysqlUrl, prefix } = own;
  const { opts } = ctx;
  let redis: RedisTarget = opts;
  const privateServerArgs = variant.redis !== undefined && variant.redis !== 'shared' ? variant.redis.privateServerArgs : opts.ownRedis ? PERSISTENCE_OFF : undefined;
  if (privateServerArgs !== undefined) {
    const server = await startRedisServer(privateServerArgs);
    teardown.add(() => server.stop());
    redis = { redisUrl: server.url, redisClusterNodes: null };
    opts.log(`variant ${variant.name}: a redis-server of its own at ${server.url} (${privateServerArgs.join(' ')})`);
    if (opts.keepData) opts.log(`variant ${variant.name}: --keep-data keeps MySQL only; its redis-server stops with it`);
  }
  const store = openStore(mysqlUrl, redis, prefix);
  teardown.add(async () => {
    if (opts.url === undefined && !opts.keepData) await deleteKeysWithPrefix(store.redis, prefix).catch(() => {});
    await store.close();
  });
  const serverPids = await serverPidsOf(store);
  const env = { MYSQL_URL: mysqlUrl, REDIS_URL: redis.redisUrl, REDIS_CLUSTER_NODES: redis.redisClusterNodes?.join(',') ?? '', REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  if (variant.identity !== 'jwt') return { variant, mysqlUrl, store, env, apiEnv: variant.apiEnv, adminToken: opts.adminToken, tokenFile: undefined, serverPids };
  // Signed here, before any load of the variant starts, so the clock never runs on signing.
  const pooled = Math.max(0, ...opts.scenarios.map((s) => planScenario(s, opts).users));
  const users = tokenPoolSize(Math.max(opts.durationSec, opts.warmupSec), opts.rate, pooled);
  const started = Date.now();
  const identity = await createJwtIdentity(users);
  teardown.add(() => identity.remove());
  opts.log(`variant ${variant.name}: ${users} user tokens signed in ${Date.now() - started} ms`);
  return {
    variant, mysqlUrl, store, env, apiEnv: { ...variant.apiEnv, ...identity.apiEnv }, adminToken: identity.adminToken, tokenFile: identity.tokenFile, serverPids,
  };
}

/** Redis's pid from INFO, MariaDB's from its pid file: counted only when they run on this machine. */
async function serverPidsOf(store: Store): Promise<Stage['serverPids']> {
  const [info, [rows]] = await Promise.all([store.redis.info('server'), store.db.query<RowDataPacket[]>('SELECT @@pid_file AS pidFile')]);
  const pidFile = rows[0]?.['pidFile'] as string | null | undefined;
  // A cluster is several redis-servers and INFO answers from one of them: not counted rather than undercounted.
  const redis = store.redis.isCluster ? undefined : localPid(redisPidOf(info), REDIS_PROCESS_NAMES);
  return { redis, mysql: serverPid(pidFile ?? undefined, MYSQL_PROCESS_NAMES) };
}

async function startServices(strategy: BenchStrategy, stage: Stage, ctx: RunContext): Promise<Running> {
  const { opts } = ctx;
  const { variant, apiEnv } = stage;
  const name = variant.name === 'default' ? strategy : `${strategy}.${variant.name}`;
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  // The no-I/O ceiling is the bench's own server, also when the rest targets a running service.
  if (strategy === 'baseline') {
    const server = await startHttpProcess({ ...stage.env, ...apiEnv }, { name: `${name}-server`, args: [], script: BASELINE_SERVER, logDir: ctx.logDir, nodeArgs });
    return { url: server.url, api: server, consumers: [], stop: async () => { await server.stop(); } };
  }
  if (opts.url !== undefined) return { url: opts.url, api: undefined, consumers: [], stop: async () => {} };
  const target = targetOf(strategy, opts.apiWorkers);
  const api = await startHttpProcess(
    { ...stage.env, ISSUE_STRATEGY: target.serverStrategy, API_WORKERS: String(opts.apiWorkers), ...apiEnv }, { name: `${name}-api`, logDir: ctx.logDir, nodeArgs },
  );
  const consumers: ServiceProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([api.stop(), ...consumers.map((c) => c.stop())]);
  };
  try {
    for (let i = 0; target.needsConsumer && i < opts.consumers; i++) {
      consumers.push(await startConsumerProcess({ ...stage.env, ...variant.consumerEnv }, { name: `${name}-consumer${opts.consumers > 1 ? `-${i + 1}` : ''}`, logDir: ctx.logDir }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: api.url, api, consumers, stop };
}

/** Warms the JIT and the pools on a coupon of its own, so the first scenario is not measured cold. */
async function warmUp(strategy: BenchStrategy, api: ApiTarget, stage: Stage, ctx: RunContext): Promise<void> {
  const { opts } = ctx;
  const target = targetOf(strategy, opts.apiWorkers);
  const couponIds = target.verified ? await createCouponEvents(api, `bench warm-up ${strategy}`, 1, 100_000_000) : [1];
  await runLoad({
    url: api.url, durationSec: opts.warmupSec, connections: opts.connections, rate: opts.rate,
    spec: { path: target.path, couponIds, users: 0, repeatShare: 0, tokenFile: stage.tokenFile }, counters: createCounterBuffer(),
  }, ctx.choice);
}

/** Far more requests than one stream sends in a turn of a second: each turn's fresh users are new. */
const FRESH_USERS_PER_TURN = 10_000_000;

/** One variant's services for a strategy, taking turns with the others'. */
interface Side {
  readonly stage: Stage;
  readonly running: Running;
  readonly api: ApiTarget;
}

/**
 * One scenario on every variant of the group. Alone, a variant gets the whole duration in one go. Side
 * by side, they take turns second by second, in A B B A order, so a machine whose load drifts, or a
 * neighbour's burst, weighs on each alike; each row sums its variant's seconds. CPU is read per
 * variant from before the first turn to the end of its drain, so each also pays its idle time (timers,
 * polling) while the others run.
 */
async function runScenario(strategy: BenchStrategy, plan: ScenarioPlan, group: readonly Side[], ctx: RunContext): Promise<BenchRow[]> {
  const { opts } = ctx;
  const target = targetOf(strategy, opts.apiWorkers);
  const turns = group.length > 1 ? opts.durationSec : 1;
  const turnSec = opts.durationSec / turns;
  const sides = await Promise.all(group.map(async (side) => ({
    ...side,
    couponIds: target.verified
      ? await createCouponEvents(side.api, `bench ${strategy} ${plan.name}`, plan.couponCount, plan.quantityPerCoupon)
      : Array.from({ length: plan.couponCount }, (_, i) => i + 1),
    cpuTargets: cpuTargetsOf(side),
    counters: createCounterBuffer(),
    loads: [] as LoadResult[],
  })));
  const hold = plan.consumer === 'held';
  if (hold) for (const side of sides) for (const c of side.running.consumers) c.pause();
  const cpuBefore = await Promise.all(sides.map((side) => sampleCpu(side.cpuTargets)));
  for (let turn = 0; turn < turns; turn++) {
    for (const side of turn % 2 === 0 ? sides : [...sides].reverse()) {
      const label = rowLabel({ strategy, scenario: plan.name, variant: side.stage.variant.name }, ctx.variantCount);
      const progress = startProgress(label, turnSec, side.counters, opts.progress);
      try {
        side.loads.push(await runLoad({
          url: side.api.url, durationSec: turnSec, connections: opts.connections, rate: opts.rate,
          spec: {
            path: target.path, couponIds: side.couponIds, users: plan.users, repeatShare: plan.repeatShare, tokenFile: side.stage.tokenFile,
            freshFrom: turn * FRESH_USERS_PER_TURN,
          },
          counters: side.counters,
        }, ctx.choice));
      } finally {
        progress.stop();
      }
    }
  }
  // Held consumers all resume at once: side by side, the variants drain together, so neither drains first
  // (one after the other, the first was the slower in three runs of four). A failure's teardown sends SIGCONT.
  if (hold) for (const side of sides) for (const c of side.running.consumers) c.resume();
  return Promise.all(sides.map(async (side, i) => {
    const { stage, running, couponIds } = side;
    let drain: Drain | null = null;
    if (target.needsConsumer) drain = await waitForDrain(stage.store, couponIds, opts.drainTimeoutSec * 1000);
    // Up to the end of the drain: the consumer's work (and Redis's and MySQL's share of it) comes after the load.
    const cpu = cpuBetween(cpuBefore[i]!, await sampleCpu(side.cpuTargets));
    const outcome = target.verified ? await readSettledOutcome(stage.store, couponIds) : null;
    return buildRow({
      strategy, variant: stage.variant.name, target, plan, load: mergeLoads(side.loads), outcome, drain, cpu, turns,
      connections: opts.connections, rate: opts.rate,
      consumer: target.needsConsumer ? (running.consumers.length === 0 ? 'live' : plan.consumer) : null,
    });
  }));
}

/**
 * The API child with its workers, the consumers, the whole Redis server (its CPU is the run's alone only
 * on a server of its own: --own-redis or a variant's), and of MariaDB only the threads serving
 * connections to the run's database (one thread per connection), so other databases' clients do not count.
 */
function cpuTargetsOf({ running, stage }: Side): CpuTargets {
  const pids = (...ids: (number | undefined)[]) => ids.filter((id): id is number => id !== undefined);
  const database = decodeURIComponent(new URL(stage.mysqlUrl).pathname.slice(1));
  const connectionThreads = async (): Promise<number[]> => {
    const [rows] = await stage.store.db.query<RowDataPacket[]>('SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE DB = ?', [database]);
    return rows.map((r) => Number(r['tid']));
  };
  return {
    api: processTrees(pids(running.api?.child.pid)),
    consumer: processTrees(pids(...running.consumers.map((c) => c.child.pid))),
    redis: processTrees(pids(stage.serverPids.redis)),
    mysql: threadsOf(stage.serverPids.mysql, connectionThreads),
  };
}

async function checkGenerator(ours: BenchRow, url: string, tokenFile: string | undefined, ctx: RunContext): Promise<GeneratorCheck> {
  const { opts, choice } = ctx;
  const stronger = strongerChoice(choice);
  // The same tokens and connections as our generator's run: only the generator's threads differ.
  const more = await runLoad({
    url, durationSec: opts.durationSec, connections: opts.connections, rate: null,
    spec: { path: BASELINE_PATH, couponIds: [1], users: 0, repeatShare: 0, tokenFile }, counters: createCounterBuffer(),
  }, stronger);
  return {
    generator: describeChoice(choice, ours.connections),
    generatorRequestsPerSec: ours.requestsPerSec,
    stronger: describeChoice(stronger, opts.connections),
    strongerRequestsPerSec: more.requestsPerSec,
    ratio: round(ours.requestsPerSec / more.requestsPerSec, 3),
  };
}

function summaryLine(r: BenchRow, variants: number): string {
  const verdict = r.exact === null ? '' : r.exact ? ' exact' : ` NOT EXACT: ${r.failures.join('; ')}`;
  const issued = r.issuedInMysql === null ? '' : ` issued ${r.issuedInMysql}/${r.quantity}`;
  return `${rowLabel(r, variants)}: ${r.requestsPerSec} req/s, p99 ${r.latencyMs.p99} ms${issued}${verdict}`;
}
