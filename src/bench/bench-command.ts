import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../config.js';
import { listOf, nonNegativeNumber, positiveInt, share } from './cli-options.js';
import type { GeneratorName } from './load-result.js';
import type { BenchResult } from './run-bench.js';
import { BENCH_STRATEGIES, SCENARIOS, type BenchStrategy, type ScenarioName } from './scenarios.js';

interface BenchFlags {
  strategy: BenchStrategy[];
  scenario: ScenarioName[];
  duration: number;
  connections: number;
  rate?: number;
  quantity: number;
  coupons: number;
  users?: number;
  repeatShare: number;
  generator: GeneratorName | 'auto';
  workers: number;
  wrkThreads: number;
  warmup: number;
  json?: string;
  out?: string;
  url?: string;
  database?: string;
  keepData: boolean;
  cpuProf?: string;
  drainTimeout: number;
  progress: boolean;
  generatorCheck: boolean;
}

/** `coupon bench`: built here so cli.ts only registers it. */
export function benchCommand(config: () => Config): Command {
  return new Command('bench')
    .description('measure every issue strategy side by side (throughput, latency, exactness) against fresh coupons')
    .option('--strategy <list>', `comma list of ${BENCH_STRATEGIES.join(', ')}, or all`, listOf(BENCH_STRATEGIES), [...BENCH_STRATEGIES])
    .option('--scenario <list>', `comma list of ${SCENARIOS.join(', ')}, or all`, listOf(SCENARIOS), [...SCENARIOS])
    .option('--duration <seconds>', 'load per scenario', positiveInt, 5)
    .option('--connections <n>', 'concurrent connections (closed model), or the cap of the open model', positiveInt, 64)
    .option('--rate <n>', 'open model: fixed arrival rate in requests/s, latency from the scheduled send', positiveInt)
    .option('--quantity <n>', 'units per coupon', positiveInt, 1000)
    .option('--coupons <n>', 'coupons of the many scenario', positiveInt, 100)
    .option('--users <n>', 'draw users from a pool of n (default: fresh users; repeat: 2x quantity)', positiveInt)
    .option('--repeat-share <share>', 'share of requests by a user already seen (flood, many)', share, 0)
    .addOption(new Option('--generator <name>', 'load generator (auto: wrk when installed)').choices(['auto', 'autocannon', 'wrk']).default('auto'))
    .option('--workers <n>', 'autocannon worker threads', positiveInt, 1)
    .option('--wrk-threads <n>', 'wrk threads', positiveInt, 1)
    .option('--warmup <seconds>', 'untimed load on a coupon of its own before each strategy', nonNegativeNumber, 1)
    .option('--json <file>', 'write one JSON object per row (and the run\'s settings) to file')
    .option('--out <dir>', 'write a Markdown report and an SVG chart to dir')
    .option('--url <url>', 'target a running service (strategy as it runs; verified through MYSQL_URL, REDIS_URL, REDIS_KEY_PREFIX)')
    .option('--database <name>', 'database the bench creates, migrates and drops (default: fcfs_bench_<run id>, so runs never share one)')
    .option('--keep-data', 'keep the bench database and Redis keys afterwards', false)
    .option('--cpu-prof <dir>', 'run each api child with --cpu-prof into dir')
    .option('--drain-timeout <seconds>', 'how long to wait for the consumer to catch up', positiveInt, 60)
    .option('--no-progress', 'no live progress bar')
    .option('--no-generator-check', 'skip the wrk -t1 -c64 comparison on the baseline')
    .action(async (flags: BenchFlags) => {
      const c = config();
      // Loaded here, not at the top: every `coupon` command imports this file.
      const { runBench } = await import('./run-bench.js');
      const { consoleTable } = await import('./report.js');
      const result = await runBench({
        strategies: flags.strategy,
        scenarios: flags.scenario,
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
        warmupSec: flags.warmup,
        url: flags.url,
        mysqlUrl: c.mysqlUrl,
        redisUrl: c.redisUrl,
        redisKeyPrefix: c.redisKeyPrefix,
        adminToken: c.adminToken,
        database: flags.database,
        keepData: flags.keepData,
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
        process.stdout.write(`\nbaseline: ${g.generator} ${g.generatorRequestsPerSec} req/s, wrk -t1 -c64 ${g.wrkRequestsPerSec} req/s (ratio ${g.ratio})\n`);
      }
      if (result.failures.length > 0) {
        process.stdout.write(`\n${result.failures.map((f) => `FAIL ${f}`).join('\n')}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write('\nevery strategy that must be exact was exact\n');
      }
    });
}

async function writeOutputs(result: BenchResult, flags: BenchFlags): Promise<void> {
  if (flags.json) {
    // One object per row, as the issue asks; each row carries its model, generator, connections and rate.
    await writeFile(flags.json, `${JSON.stringify(result.rows, null, 2)}\n`);
  }
  if (flags.out) {
    const { renderChart } = await import('./chart.js');
    const { markdownReport } = await import('./report.js');
    await mkdir(flags.out, { recursive: true });
    const o = result.options;
    const subtitle = `${result.startedAt.slice(0, 16)}Z, ${o['rate'] === null ? `${String(o['connections'])} connections` : `${String(o['rate'])} req/s open model`}, ${String(o['durationSec'])} s per scenario, ${String(o['generator'])}`;
    await writeFile(join(flags.out, 'benchmarks.svg'), renderChart(result.rows, subtitle));
    await writeFile(join(flags.out, 'benchmarks.md'), markdownReport(result, 'benchmarks.svg'));
  }
}
