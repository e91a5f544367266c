import cluster from 'node:cluster';
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import { migrate } from '../../adapters/mysql/migrations.js';
import { startApi } from '../api/server.js';
import { signUserToken } from '../api/identity.js';
import { benchCommand } from './bench-command.js';
import { demoCommand } from './demo-command.js';
import { positiveInt, workerCount } from './options.js';
import { startConsumer } from '../consumer/start-consumer.js';
import { reconcileCoupon, type Reconciliation } from '../../async-issue/reconcile.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { scrapeThroughPrimary } from '../../metrics/cluster-metrics.js';
import { superviseWorkers } from './cluster.js';
import { withDeps } from './command-helpers.js';
import { failuresCommand } from './failures-command.js';
import { onShutdownSignal } from './shutdown.js';

/** Bad configuration is the operator's to fix: one line, exit code 2. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`coupon: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const program = new Command()
  .name('coupon')
  .description('fcfs-coupon: first-come-first-served coupon issuance on MySQL and Redis')
  .showHelpAfterError();

program.command('migrate')
  .description('create the database named in MYSQL_URL if missing and apply pending schema migrations')
  .action(async () => {
    const config = configOrExit();
    const r = await migrate(config.mysqlUrl);
    console.log(`database ${r.database}: schema version ${r.current}${r.applied.length ? ` (applied ${r.applied.join(', ')})` : ' (up to date)'}`);
  });

const WORKERS_HELP = 'API processes on PORT (node:cluster; default API_WORKERS, else 1; auto: one per core)';

/** A cluster worker's registry, summed with the others' by the primary; elsewhere each command makes its own. */
function workerMetrics(config: Config): Metrics | undefined {
  return cluster.isWorker && config.metricsEnabled ? scrapeThroughPrimary(createMetrics()) : undefined;
}

program.command('api')
  .description('serve the HTTP API on PORT, issuing with ISSUE_STRATEGY')
  .option('--workers <n>', WORKERS_HELP, workerCount)
  .action(async (opts: { workers?: number }) => {
    const config = configOrExit();
    const workers = opts.workers ?? config.apiWorkers;
    // A worker runs `coupon api` again (API_WORKERS still set): only the primary forks.
    if (workers > 1 && cluster.isPrimary) return superviseWorkers(config, { api: workers, consumer: false });
    const api = await startApi(config, { metrics: workerMetrics(config) });
    onShutdownSignal(() => api.close());
  });

program.command('consumer')
  .description('drain the reservation streams into MySQL in batches (run one or several); metrics on METRICS_PORT')
  .action(() => {
    const config = configOrExit();
    // Forked by `coupon start --workers N`: its metrics are served with the API workers', on PORT.
    const consumer = startConsumer(config, { metrics: workerMetrics(config) });
    onShutdownSignal(() => consumer.close());
  });

program.command('start')
  .description('API and consumer together, for local use; one /metrics on PORT')
  .option('--workers <n>', WORKERS_HELP, workerCount)
  .action(async (opts: { workers?: number }) => {
    const config = configOrExit();
    const workers = opts.workers ?? config.apiWorkers;
    if (workers > 1) {
      // One consumer, not one per API worker: the drain is bound by MySQL batches, which more consumers
      // only split. A worker of its own rather than the primary, so a crash of it is restarted like an
      // API worker's and its metrics reach /metrics through the same aggregator.
      return superviseWorkers(config, { api: workers, consumer: true });
    }
    // One registry: the API's /metrics serves the consumer's too.
    const metrics = config.metricsEnabled ? createMetrics() : undefined;
    const consumer = startConsumer(config, { metrics });
    const api = await startApi(config, { metrics });
    onShutdownSignal(async () => {
      await api.close();
      await consumer.close();
    });
  });

program.command('token')
  .description('print an HS256 token for a user, signed with JWT_SECRET, to try AUTH_MODE=jwt by hand')
  .argument('<userId>', 'the user (the token\'s sub)', positiveInt)
  .option('--ttl <seconds>', 'lifetime', positiveInt, 3600)
  .action(async (userId: number, opts: { ttl: number }) => {
    const jwt = configOrExit().security.jwt;
    if (jwt?.algorithm !== 'HS256') {
      process.stderr.write('coupon: token needs AUTH_MODE=jwt with JWT_SECRET (RS256/ES256 tokens are signed by their issuer)\n');
      process.exit(2);
    }
    console.log(await signUserToken(jwt, userId, opts.ttl));
  });

function printReconciliation(r: Reconciliation, asJson: boolean): void {
  if (asJson) {
    console.log(JSON.stringify(r));
    return;
  }
  const list = (xs: number[]) => (xs.length ? `${xs.length} (${xs.slice(0, 20).join(', ')}${xs.length > 20 ? ', ...' : ''})` : '0');
  if (r.issueMode === 'SYNC') {
    console.log(`coupon ${r.couponId}: issued through POST /v1/issue, in MySQL alone; Redis holds nothing to compare`);
    console.log(`  rows in mysql: ${r.mysqlRows}, issued_quantity: ${r.mysqlIssuedQuantity}${r.inAgreement ? '' : ' (differs from the rows)'}${r.repaired ? ' (recounted)' : ''}`);
    return;
  }
  console.log(`coupon ${r.couponId}: ${r.inAgreement ? 'Redis and MySQL agree' : 'Redis and MySQL differ'}${r.repaired ? ' (repaired)' : ''}`);
  console.log(`  reserved in redis: ${r.redisCount}, queued: ${r.queued}, rows in mysql: ${r.mysqlRows}, issued_quantity: ${r.mysqlIssuedQuantity}`);
  console.log(`  rules in redis: ${r.rulesInRedis}`);
  console.log(`  reserved but not persisted: ${list(r.reservedNotPersisted)}`);
  console.log(`  persisted but not reserved: ${list(r.persistedNotReserved)}`);
  const loss = r.loss;
  if (loss?.reservedSeen == null) {
    console.log('  accepted reservations lost by redis: unknown (no count of reservations was recorded before)');
  } else {
    console.log(`  accepted reservations lost by redis: ${loss.reservationsLost}, stream entries lost: ${loss.streamEntriesLost}`
      + ` (the users hash held ${loss.reservedSeen} at ${loss.seenAt?.toISOString()}${loss.releasedSince ? `, ${loss.releasedSince} released by failed issues since` : ''};`
      + ` held now: ${loss.heldNow}, persisted: ${loss.mysqlRows}, queued and not persisted: ${loss.queuedNotPersisted})`);
  }
}

program.command('reconcile')
  .description('compare a coupon\'s Redis state with MySQL; --repair brings Redis in line with MySQL')
  .argument('<couponId>', 'the coupon', positiveInt)
  .option('--repair', 'rewrite Redis from MySQL, the source of truth')
  .option('--json', 'print one JSON object')
  .action(async (couponId: number, opts: { repair?: boolean; json?: boolean }) => {
    await withDeps(configOrExit(), 'coupon-reconcile', async (deps) => {
      const r = await reconcileCoupon(deps, couponId, { repair: opts.repair === true });
      printReconciliation(r, opts.json === true);
      // Differences left in place are an exit code scripts can act on.
      process.exitCode = r.inAgreement || r.repaired ? 0 : 1;
    });
  });

program.addCommand(failuresCommand(configOrExit));

// bench and demo load their heavy parts (and the development dependencies) only when run.
program.addCommand(benchCommand(configOrExit));
program.addCommand(demoCommand(configOrExit));

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`coupon: ${err instanceof Error ? err.message : String(err)}\n`);
  // A configuration the service cannot run under (REQUIRE_DURABLE_REDIS unmet) is the operator's to fix, like a bad variable.
  process.exit(err instanceof ConfigError ? 2 : 1);
});
