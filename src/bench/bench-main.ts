import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { renderChart } from './chart.js';
import type { GeneratorName } from './load-result.js';
import { consoleTable, markdownReport } from './report.js';
import { runBench, type BenchResult } from './run-bench.js';
import type { AnyScenarioName, BenchStrategy, ScenarioName } from './scenarios.js';
import type { VariantName } from './variants.js';

/** The options of `coupon bench` as commander hands them over (src/entry-points/cli/bench-command.ts). */
export interface BenchFlags {
  strategy: BenchStrategy[];
  variants: VariantName[];
  scenario: AnyScenarioName[];
  duration: number;
  connections: number;
  rate?: number;
  quantity: number;
  coupons: number;
  users?: number;
  repeatShare: number;
  generator: GeneratorName | 'auto';
  workers?: number;
  wrkThreads: number;
  apiWorkers: number;
  consumers: number;
  ownRedis: boolean;
  warmup: number;
  json?: string;
  out?: string;
  url?: string;
  database?: string;
  keepData: boolean;
  keepLogs: boolean;
  cpuProf?: string;
  drainTimeout: number;
  progress: boolean;
  generatorCheck: boolean;
}

/** Runs `coupon bench` and prints its table; resolves with the exit code. */
export async function runBenchCommand(flags: BenchFlags, c: Config): Promise<number> {
  const scenarios = flags.scenario.filter((s): s is ScenarioName => s !== 'waiting-room');
  let code = 0;
  if (flags.scenario.includes('waiting-room')) {
    const { runWaitingRoomBench } = await import('./waiting-room-scenario.js');
    const f = await runWaitingRoomBench({
      mysqlUrl: c.mysqlUrl, redisUrl: c.redisUrl, redisClusterNodes: c.redisClusterNodes, redisKeyPrefix: c.redisKeyPrefix, quantity: flags.quantity,
      joiners: flags.users ?? 10 * flags.quantity, connections: flags.connections, log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`\nwaiting-room: ${JSON.stringify(f)}\n`);
    if (f.reserved !== f.quantity || f.claimed !== f.quantity) {
      process.stdout.write(`FAIL waiting-room: ${f.claimed} claimed, ${f.reserved} reserved of ${f.quantity}\n`);
      code = 1;
    }
    if (scenarios.length === 0) return code;
  }
  const result = await runBench({
    strategies: flags.strategy,
    variants: flags.variants,
    scenarios,
    durationSec: flags.duration,
    connections: flags.connections,
    rate: flags.rate ?? null,
    quantity: flags.quantity,
    coupons: flags.coupons,
    users: flags.users,
    repeatShare: flags.repeatShare,
    generator: flags.generator,
    workers: flags.workers,
    wrkThreads: flags.wrkThreads,
    apiWorkers: flags.apiWorkers,
    consumers: flags.consumers,
    ownRedis: flags.ownRedis,
    warmupSec: flags.warmup,
    url: flags.url,
    mysqlUrl: c.mysqlUrl,
    redisUrl: c.redisUrl,
    redisClusterNodes: c.redisClusterNodes,
    redisKeyPrefix: c.redisKeyPrefix,
    adminToken: c.adminToken,
    database: flags.database,
    keepData: flags.keepData,
    keepLogs: flags.keepLogs,
    cpuProfDir: flags.cpuProf,
    drainTimeoutSec: flags.drainTimeout,
    progress: flags.progress && process.stderr.isTTY === true,
    generatorCheck: flags.generatorCheck,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await writeOutputs(result, flags);
  process.stdout.write(`\n${consoleTable(result.rows)}\n`);
  if (result.generatorCheck) {
    const g = result.generatorCheck;
    process.stdout.write(`\nbaseline: ${g.generator} ${g.generatorRequestsPerSec} req/s, ${g.stronger} ${g.strongerRequestsPerSec} req/s (ratio ${g.ratio})\n`);
  }
  if (result.logDir !== undefined) process.stdout.write(`\nthe services' logs are in ${result.logDir}\n`);
  if (result.failures.length > 0) {
    process.stdout.write(`\n${result.failures.map((f) => `FAIL ${f}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('\nevery strategy that must be exact was exact\n');
  return code;
}

async function writeOutputs(result: BenchResult, flags: BenchFlags): Promise<void> {
  if (flags.json) {
    // One object per row, as the issue asks; each row carries its model, generator, connections and rate.
    await writeFile(flags.json, `${JSON.stringify(result.rows, null, 2)}\n`);
  }
  if (flags.out) {
    await mkdir(flags.out, { recursive: true });
    const o = result.options;
    const subtitle = `${result.startedAt.slice(0, 16)}Z, ${o['rate'] === null ? `${String(o['connections'])} connections` : `${String(o['rate'])} req/s open model`}, ${String(o['durationSec'])} s per scenario, ${String(o['generator'])}`;
    await writeFile(join(flags.out, 'benchmarks.svg'), renderChart(result.rows, subtitle));
    await writeFile(join(flags.out, 'benchmarks.md'), markdownReport(result, 'benchmarks.svg'));
  }
}
