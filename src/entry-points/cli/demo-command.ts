import { Command } from 'commander';
import type { Config } from '../../config.js';
import { requireLoadTools } from '../../harness/dev-dependencies.js';
import { positiveInt, share } from './options.js';

interface DemoFlags {
  strategy: string;
  quantity: number;
  requests: number;
  repeatShare: number;
  connections: number;
  url?: string;
  database: string;
  serve?: boolean;
}

/** `coupon demo`, the newcomer's first run: its options; what runs lives in src/demo/, loaded only when the command runs. */
export function demoCommand(config: () => Config): Command {
  return new Command('demo')
    .description('create a coupon event on the local services, flood it, and show it was issued exactly')
    .option('--strategy <name>', 'redis-async, or a sync strategy: mysql-atomic, mysql-lock, redis-lock, process-lock, none', 'redis-async')
    .option('--quantity <n>', 'coupons in the event', positiveInt, 100)
    .option('--requests <n>', 'requests in the flood', positiveInt, 2000)
    .option('--repeat-share <share>', 'share of requests by a user who already asked', share, 0.1)
    .option('--connections <n>', 'concurrent connections', positiveInt, 64)
    .option('--url <url>', 'use a running API instead of starting one (verified through MYSQL_URL, REDIS_KEY_PREFIX)')
    .option('--database <name>', 'database the demo recreates for the service it starts (dropped afterwards unless the run was not exact)', 'fcfs_demo')
    .option('--serve', 'keep the service up after the flood (until Ctrl-C) and print the event page\'s address, to watch it in a browser')
    .action(async (flags: DemoFlags) => {
      const c = config();
      requireLoadTools('demo');
      const { runDemo, describeDemo } = await import('../../demo/demo.js');
      const result = await runDemo({
        strategy: flags.strategy, quantity: flags.quantity, requests: flags.requests, repeatShare: flags.repeatShare,
        connections: flags.connections, url: flags.url, database: flags.database, mysqlUrl: c.mysqlUrl, redisUrl: c.redisUrl, redisClusterNodes: c.redisClusterNodes,
        redisKeyPrefix: c.redisKeyPrefix, adminToken: c.adminToken, log: (line) => process.stderr.write(`${line}\n`),
        ...(flags.serve && { hold: (r, pageUrl) => serveUntilSignal(describeDemo(r, flags.quantity), pageUrl) }),
      });
      if (!flags.serve) process.stdout.write(`${describeDemo(result, flags.quantity)}\n(run it with --serve to watch the event in a browser)\n`);
      if (!result.exact) process.exitCode = 1;
    });
}

/** Prints the result and the page's address, then waits for Ctrl-C (or SIGTERM) before the demo cleans up. */
async function serveUntilSignal(summary: string, pageUrl: string): Promise<void> {
  process.stdout.write(`${summary}\n\nwatch it: ${pageUrl}  (all events: ${new URL('/', pageUrl).href}, API: ${new URL('/docs', pageUrl).href})\n`);
  process.stdout.write('the service stays up until Ctrl-C; then the demo stops it and removes its data\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
