import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { migrate } from '../adapters/mysql/migrations.js';
import { createCouponEvent } from './api-client.js';
import { succeededOf } from './load-result.js';
import { RESPONSE_KEYS, slotOf } from './response-counters.cjs';
import { startApi, startConsumer, type ServiceProcess } from './service-processes.js';
import { dropDatabase, withDatabase } from './database.js';
import { deleteKeysWithPrefix } from '../adapters/redis/client.js';
import { openStore, readOutcome, waitForDrain, type Outcome } from './verify.js';

export interface DemoOptions {
  /** redis-async (the default: the fast path) or one of the sync strategies. */
  readonly strategy: string;
  readonly quantity: number;
  readonly requests: number;
  readonly repeatShare: number;
  readonly connections: number;
  readonly url: string | undefined;
  /** Database the demo recreates when it starts the service itself (kept afterwards to look at). */
  readonly database: string;
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly adminToken: string | undefined;
  readonly log: (line: string) => void;
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

/** The demo's bodies: users 1..distinct in a shuffled order, with `repeats` of them sent twice. */
function demoBodies(couponId: number, requests: number, repeatShare: number): { bodies: string[]; distinct: number } {
  const repeats = Math.floor(requests * repeatShare);
  const distinct = requests - repeats;
  const users = Array.from({ length: distinct }, (_, i) => i + 1);
  for (let i = 0; i < repeats; i++) users.push(1 + Math.floor(Math.random() * distinct));
  for (let i = users.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [users[i], users[j]] = [users[j] as number, users[i] as number];
  }
  return { bodies: users.map((u) => `{"userId":${u},"couponId":${couponId}}`), distinct };
}

/** Sends every body once over `connections` keep-alive connections, as fast as the server answers. */
async function flood(url: string, path: string, bodies: readonly string[], connections: number): Promise<Record<string, number>> {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const counts = new Array<number>(RESPONSE_KEYS.length).fill(0);
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await pool.request({ origin, path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const slot = slotOf(res.statusCode, await res.body.text());
      counts[slot] = (counts[slot] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    await pool.destroy();
  }
  return Object.fromEntries(RESPONSE_KEYS.map((k, i) => [k, counts[i] ?? 0] as const).filter(([, n]) => n > 0));
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
  const store = openStore(mysqlUrl, opts.redisUrl, prefix);
  try {
    let url = opts.url;
    if (url === undefined) {
      await dropDatabase(opts.mysqlUrl, opts.database);
      await migrate(mysqlUrl);
      const env = { mysqlUrl, redisUrl: opts.redisUrl, redisKeyPrefix: prefix, logDir: join(tmpdir(), `coupon-demo-${randomBytes(4).toString('hex')}`), cpuProfDir: undefined };
      const api = await startApi('demo-api', async ? 'mysql-atomic' : opts.strategy, env);
      procs.push(api);
      url = api.url;
      if (async) procs.push(await startConsumer('demo-consumer', env));
    }
    const couponId = await createCouponEvent({ url, adminToken: opts.adminToken }, `demo ${new Date().toISOString()}`, opts.quantity);
    const { bodies, distinct } = demoBodies(couponId, opts.requests, opts.repeatShare);
    opts.log(`coupon ${couponId}: ${opts.quantity} coupons; sending ${bodies.length} requests to ${path} over ${opts.connections} connections...`);
    const start = performance.now();
    const responses = await flood(url, path, bodies, opts.connections);
    const seconds = (performance.now() - start) / 1000;
    if (async) await waitForDrain(store, [couponId], 30_000);
    const outcome = await readOutcome(store, [couponId]);
    const exact = outcome.rows === Math.min(opts.quantity, distinct) && outcome.overIssued === 0 && outcome.duplicates === 0
      && outcome.rows === succeededOf(responses) && (!async || outcome.redisReserved === outcome.rows);
    return { couponId, requested: bodies.length, distinctUsers: distinct, seconds, requestsPerSec: Math.round(bodies.length / seconds), responses, outcome, exact };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    if (own) await deleteKeysWithPrefix(store.redis, prefix).catch(() => {});
    await store.close();
  }
}

export function describeDemo(r: DemoResult, quantity: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const answers = Object.entries(r.responses).map(([k, v]) => `${k}: ${n(v)}`).join(', ');
  const expected = Math.min(quantity, r.distinctUsers);
  return [
    `requested   ${n(r.requested)} (${n(r.distinctUsers)} distinct users, ${n(r.requested - r.distinctUsers)} repeats) in ${r.seconds.toFixed(2)} s: ${n(r.requestsPerSec)} requests/s`,
    `issued      ${r.outcome.rows === expected ? 'exactly ' : ''}${n(r.outcome.rows)} of ${n(quantity)} (rows in MySQL), over-issued ${n(r.outcome.overIssued)}`,
    `duplicates  ${n(r.outcome.duplicates)}`,
    `answers     ${answers}`,
    r.exact ? 'exact: every coupon went to one distinct user, none beyond the stock' : 'NOT EXACT: see the numbers above',
  ].join('\n');
}
