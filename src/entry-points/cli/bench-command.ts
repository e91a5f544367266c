import { Command, Option } from 'commander';
import type { Config } from '../../config.js';
import type { BenchFlags } from '../../bench/bench-main.js';
import { BENCH_STRATEGIES, OWN_DRIVER_SCENARIOS, SCENARIOS } from '../../bench/scenarios.js';
import { VARIANT_NAMES } from '../../bench/variants.js';
import { requireLoadTools } from '../../harness/dev-dependencies.js';
import { listOf, nonNegativeNumber, positiveInt, share } from './options.js';

/** `coupon bench`: its options; what runs lives in src/bench/, loaded only when the command runs. */
export function benchCommand(config: () => Config): Command {
  return new Command('bench')
    .description('measure every issue strategy side by side (throughput, latency, exactness) against fresh coupons')
    .option('--strategy <list>', `comma list of ${BENCH_STRATEGIES.join(', ')}, or all`, listOf(BENCH_STRATEGIES), [...BENCH_STRATEGIES])
    .option('--variants <list>', `comma list of ${VARIANT_NAMES.join(', ')}, or all: presets the services run under, one after another`, listOf(VARIANT_NAMES), ['default'])
    .option('--scenario <list>', `comma list of ${[...SCENARIOS, ...OWN_DRIVER_SCENARIOS].join(', ')}, or all (default: ${SCENARIOS.join(', ')})`,
      listOf([...SCENARIOS, ...OWN_DRIVER_SCENARIOS]), [...SCENARIOS])
    .option('--duration <seconds>', 'load per scenario', positiveInt, 5)
    .option('--connections <n>', 'concurrent connections (closed model), or the cap of the open model', positiveInt, 64)
    .option('--rate <n>', 'open model: fixed arrival rate in requests/s, latency from the scheduled send', positiveInt)
    .option('--quantity <n>', 'units per coupon', positiveInt, 1000)
    .option('--coupons <n>', 'coupons of the many scenario', positiveInt, 100)
    .option('--users <n>', 'draw users from a pool of n (default: fresh users; repeat: 2x quantity)', positiveInt)
    .option('--repeat-share <share>', 'share of requests by a user already seen (flood, many)', share, 0)
    .addOption(new Option('--generator <name>', 'load generator (auto: wrk when installed)').choices(['auto', 'autocannon', 'wrk']).default('auto'))
    .option('--workers <n>', 'autocannon worker threads (default: half the cores)', positiveInt)
    .option('--wrk-threads <n>', 'wrk threads', positiveInt, 1)
    .option('--api-workers <n>', 'API processes behind the port (API_WORKERS of the api child); their CPU is summed', positiveInt, 1)
    .option('--consumers <n>', 'consumer processes of redis-async; their CPU is summed', positiveInt, 1)
    .option('--own-redis', 'run on a redis-server of the bench\'s own (persistence off) instead of REDIS_URL, so Redis\'s CPU per request is the run\'s alone', false)
    .option('--warmup <seconds>', 'untimed load on a coupon of its own before each strategy', nonNegativeNumber, 1)
    .option('--json <file>', 'write one JSON object per row (and the run\'s settings) to file')
    .option('--out <dir>', 'write a Markdown report and an SVG chart to dir')
    .option('--url <url>', 'target a running service (strategy as it runs; verified through MYSQL_URL, REDIS_URL, REDIS_KEY_PREFIX; the baseline still runs on the bench\'s own server)')
    .option('--database <name>', 'database the bench creates, migrates and drops (default: fcfs_bench_<run id>, so runs never share one)')
    .option('--keep-data', 'keep the bench database and Redis keys afterwards', false)
    .option('--keep-logs', 'keep the services\' log folder after a run that went well (a failed run keeps it)', false)
    .option('--cpu-prof <dir>', 'run each api child with --cpu-prof into dir')
    .option('--drain-timeout <seconds>', 'how long to wait for the consumer to catch up', positiveInt, 60)
    .option('--no-progress', 'no live progress bar')
    .option('--no-generator-check', 'skip comparing the baseline with the same generator given one more thread')
    .action(async (flags: BenchFlags) => {
      const c = config();
      requireLoadTools('bench');
      // Loaded here, not at the top: every `coupon` command imports this file.
      const { runBenchCommand } = await import('../../bench/bench-main.js');
      process.exitCode = await runBenchCommand(flags, c);
    });
}
