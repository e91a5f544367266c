// What do sold-out coupons' cached winners cost an API process? `coupons` async coupons of
// `winners` each, sold out (their users hashes filled in a redis-server of our own), each refused
// once through one reserver (the refusal reads its winners into memory), then the heap after a GC.
// Needs `npm run build`; `root` is the checkout whose build runs (another one measures "before");
// SOLD_OUT_CACHE_WINNERS in the environment sets the budget where the build has one.
// Usage: node --expose-gc scripts/measure-winners-memory.mjs [coupons=40] [winners=100000] [root=.]
/* global gc, performance, setTimeout */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [coupons = 40, winners = 100_000] = process.argv.slice(2, 4).map(Number);
const root = resolve(process.argv[4] ?? '.');
const load = (module) => import(pathToFileURL(`${root}/dist/${module}`).href);
const { migrate } = await load('adapters/mysql/migrations.js');
const { loadConfig } = await load('config.js');
const { createDeps } = await load('deps.js');
const { publishCouponRules } = await load('async-issue/coupon-mirror.js');
const { createReserver } = await load('async-issue/reserver.js');
const { dropDatabase, withDatabase } = await load('harness/database.js');
const { startRedisServer } = await load('harness/redis-server.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const id = randomBytes(4).toString('hex');
const database = `fcfs_winners_mem_${id}`;
const mysqlUrl = withDatabase(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon', database);
const redisServer = await startRedisServer();
await migrate(mysqlUrl);
const deps = createDeps(loadConfig({ ...process.env, MYSQL_URL: mysqlUrl, REDIS_URL: redisServer.url, REDIS_KEY_PREFIX: `mem-${id}:`, LOG_LEVEL: 'warn' }), 'winners-memory');
try {
  // One hash of `winners` users, copied server-side into each coupon's users hash.
  const template = `mem-${id}:template`;
  for (let from = 1; from <= winners; from += 10_000) {
    const fields = Array.from({ length: Math.min(10_000, winners - from + 1) }, (_, i) => [String(from + i), '1']).flat();
    await deps.redis.hset(template, ...fields);
  }
  const ids = Array.from({ length: coupons }, (_, i) => 800_000_000 + i);
  for (const couponId of ids) {
    await publishCouponRules(deps, {
      id: couponId, issueMode: 'ASYNC', totalQuantity: winners, dateIssueStart: new Date(0), dateIssueEnd: new Date(Date.now() + 3_600_000),
    }, { justCreated: true });
    await deps.redis.copy(template, deps.keys.users(couponId), 'REPLACE');
  }
  const reserver = createReserver(deps);
  await reserver.decide(ids[0], winners + 1); // rules cache and code paths warm before the baseline
  const before = heapMb();
  const started = performance.now();
  for (const couponId of ids) {
    await reserver.decide(couponId, winners + 1); // SOLD_OUT from the script: reads the winners
    await sleep(100);
  }
  const readSeconds = (performance.now() - started) / 1000;
  await sleep(1000);
  const after = heapMb();
  let fromMemory = 0;
  for (const couponId of ids) {
    if ((await reserver.decide(couponId, winners + 1)) === (await reserver.decide(couponId, winners + 2))) fromMemory++;
  }
  await reserver.close();
  console.log(JSON.stringify({
    root, coupons, winnersEach: winners, budget: process.env.SOLD_OUT_CACHE_WINNERS ?? 'default',
    couponsAnsweredFromMemory: fromMemory, heapBeforeMb: Math.round(before), heapAfterMb: Math.round(after),
    bytesPerWinnerHeld: fromMemory ? Math.round(((after - before) * 2 ** 20) / (fromMemory * winners)) : null,
    readSeconds: Math.round(readSeconds * 10) / 10,
  }));
} finally {
  await deps.close();
  await redisServer.stop();
  await dropDatabase(mysqlUrl, database).catch(() => undefined);
}
