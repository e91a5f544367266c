import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { migrate } from '../adapters/mysql/migrations.js';
import { deleteKeysWithPrefix } from '../adapters/redis/client.js';
import { createCouponEvent } from '../harness/api-client.js';
import { dropDatabase, withDatabase } from '../harness/database.js';
import { fireIssues, floodBodies, succeededOf } from '../harness/flood.js';
import { createLogDir, startConsumerProcess, startHttpProcess, type ServiceProcess } from '../harness/service-processes.js';
import { openStore, readOutcome, waitForDrain, type Outcome } from '../harness/verify.js';

export interface DemoOptions {
  /** redis-async (the default: the fast path) or one of the sync strategies. */
  readonly strategy: string;
  readonly quantity: number;
  readonly requests: number;
  readonly repeatShare: number;
  readonly connections: number;
  readonly url: string | undefined;
  /** Database the demo recreates when it starts the service itself; dropped afterwards unless the run was not exact. */
  readonly database: string;
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  readonly redisClusterNodes: readonly string[] | null;
  readonly redisKeyPrefix: string;
  readonly adminToken: string | undefined;
  readonly log: (line: string) => void;
  /**
   * Called with the result while the service still runs (`--serve`): the demo stops its service and
   * removes its data only once this resolves.
   */
  readonly hold?: (result: DemoResult, eventPageUrl: string) => Promise<void>;
}

export interface DemoResult {
  readonly couponId: number;
  readonly requested: number;
  readonly distinctUsers: number;
  readonly seconds: number;
  readonly requestsPerSec: number;
  readonly responses: Readonly<Record<string, number>>;
  readonly outcome: Outcome;
  readonly exact: boolean;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const async = opts.strategy === 'redis-async';
  const path = async ? '/v1/issue-async' : '/v1/issue';
  const own = opts.url === undefined;
  // Our own service gets a fresh database and key prefix: Redis state left under a reused coupon
  // id (a database recreated, Redis not) would otherwise be taken for this event's.
  const mysqlUrl = own ? withDatabase(opts.mysqlUrl, opts.database) : opts.mysqlUrl;
  const prefix = own ? `${opts.redisKeyPrefix}demo-${randomBytes(4).toString('hex')}:` : opts.redisKeyPrefix;
  const procs: ServiceProcess[] = [];
  const store = openStore(mysqlUrl, opts, prefix);
  const logs = createLogDir('coupon-demo-');
  let exact = false;
  try {
    let url = opts.url;
    if (url === undefined) {
      await dropDatabase(opts.mysqlUrl, opts.database);
      await migrate(mysqlUrl);
      const env = { MYSQL_URL: mysqlUrl, REDIS_URL: opts.redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
      const api = await startHttpProcess({ ...env, ISSUE_STRATEGY: async ? 'mysql-atomic' : opts.strategy }, { name: 'demo-api', logDir: logs.path });
      procs.push(api);
      url = api.url;
      if (async) procs.push(await startConsumerProcess(env, { name: 'demo-consumer', logDir: logs.path }));
    }
    const couponId = await createCouponEvent({ url, adminToken: opts.adminToken }, `demo ${new Date().toISOString()}`, opts.quantity);
    const repeats = Math.floor(opts.requests * opts.repeatShare);
    const distinct = opts.requests - repeats;
    const bodies = floodBodies(couponId, distinct, repeats);
    opts.log(`coupon ${couponId}: ${opts.quantity} coupons; sending ${bodies.length} requests to ${path} over ${opts.connections} connections...`);
    const start = performance.now();
    const { outcomes: responses } = await fireIssues([url], path, bodies, opts.connections);
    const seconds = (performance.now() - start) / 1000;
    if (async) await waitForDrain(store, [couponId], 30_000);
    const outcome = await readOutcome(store, [couponId]);
    exact = outcome.rows === Math.min(opts.quantity, distinct) && outcome.overIssued === 0 && outcome.duplicates === 0
      && outcome.rows === succeededOf(responses) && (!async || outcome.redisReserved === outcome.rows);
    const result = { couponId, requested: bodies.length, distinctUsers: distinct, seconds, requestsPerSec: Math.round(bodies.length / seconds), responses, outcome, exact };
    await opts.hold?.(result, `${url}/events/${couponId}`);
    return result;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    if (own) await deleteKeysWithPrefix(store.redis, prefix).catch(() => {});
    await store.close();
    // Our own database goes too, unless something went wrong and it is worth a look.
    if (own && exact) await dropDatabase(opts.mysqlUrl, opts.database).catch(() => {});
    else if (own) opts.log(`the demo's database ${opts.database} is kept to look at (the next demo recreates it)`);
    // Kept when something went wrong, for whoever looks into it.
    const kept = await logs.release(!exact);
    if (kept !== undefined) opts.log(`the services' logs are in ${kept}`);
  }
}

export function describeDemo(r: DemoResult, quantity: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  // Sorted, so statuses come in order and the line reads the same from run to run.
  const answers = Object.entries(r.responses).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${n(v)}`).join(', ');
  const expected = Math.min(quantity, r.distinctUsers);
  const repeats = r.requested - r.distinctUsers;
  return [
    `sent        ${n(r.requested)} requests (${n(r.distinctUsers)} distinct users, ${n(repeats)} asking again) in ${r.seconds.toFixed(2)} s`,
    // The figure a newcomer compares with the bench's: say what it is before they do.
    `            ${n(r.requestsPerSec)}/s from one client in this process, on a service just started (cold), sharing the CPU with it:`,
    '            a short run to watch, not a throughput figure (`coupon bench` measures throughput, warmed up, with wrk)',
    `issued      ${r.outcome.rows === expected ? 'exactly ' : ''}${n(r.outcome.rows)} of ${n(quantity)} (rows in MySQL), over-issued ${n(r.outcome.overIssued)}`,
    `per user    ${n(r.outcome.duplicates)} users hold more than one coupon (the repeats were refused: 409 DUPLICATED_COUPON_ISSUE below)`,
    `answers     ${answers}`,
    r.exact ? 'exact: every coupon went to one distinct user, none beyond the stock' : 'NOT EXACT: see the numbers above',
  ].join('\n');
}
