// What does a consumer cost with many coupons and no traffic? N coupons created as the service
// creates them (half then bound to the async path by one reservation, half to the sync path), a
// `coupon consumer` process, then `seconds` of nothing: its CPU (utime+stime from /proc) and the
// commands it sends, read from a redis-server of our own (INFO commandstats counts only ours).
// Needs `npm run build`. `root` is the checkout whose build runs (another one measures "before").
// Usage: node scripts/measure-idle-cost.mjs [coupons=1000] [seconds=20] [root=.]
/* global setTimeout */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [coupons = 1000, seconds = 20] = process.argv.slice(2, 4).map(Number);
const root = resolve(process.argv[4] ?? '.');
const load = (module) => import(pathToFileURL(`${root}/dist/${module}`).href);
const { migrate } = await load('adapters/mysql/migrations.js');
const { loadConfig } = await load('config.js');
const { createDeps } = await load('deps.js');
const { reservationsOf } = await load('async-issue/coupon-mirror.js');
const { createReserver } = await load('async-issue/reserver.js');
const { findCouponById } = await load('domain/coupon.repository.js');
const { dropDatabase, withDatabase } = await load('harness/database.js');
const { startRedisServer } = await load('harness/redis-server.js');
const { createLogDir, startConsumerProcess } = await load('harness/service-processes.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** CPU seconds (user + system) a process has used: stiller than rates on a shared machine (TRAPS.md). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
async function commandCalls(redis) {
  const calls = {};
  for (const [, name, n] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[name] = Number(n);
  return calls;
}

const id = randomBytes(4).toString('hex');
const mysqlUrl = withDatabase(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon', `fcfs_idle_cost_${id}`);
const redisServer = await startRedisServer();
const env = { MYSQL_URL: mysqlUrl, REDIS_URL: redisServer.url, REDIS_KEY_PREFIX: `idle-${id}:`, LOG_LEVEL: 'warn' };
const logs = createLogDir('coupon-idle-cost-', id);
await migrate(mysqlUrl);
const deps = createDeps(loadConfig(env), 'idle-cost');
let consumer;
try {
  const end = new Date(Date.now() + 3_600_000);
  const ids = [];
  for (let i = 0; i < coupons; i++) {
    const [res] = await deps.db.execute(
      `INSERT INTO coupons (title, coupon_type, total_quantity, issued_quantity, discount_amount, min_available_amount,
         date_issue_start, date_issue_end, created_at, updated_at) VALUES ('idle', 'FIRST_COME_FIRST_SERVED', 100, 0, 1000, 0, NOW(3) - INTERVAL 1 MINUTE, ?, NOW(3), NOW(3))`,
      [end],
    );
    ids.push(res.insertId);
    await reservationsOf(deps).couponCreated(await findCouponById(deps.db, res.insertId)); // what POST /v1/coupons does
  }
  const reserver = createReserver(deps);
  const half = Math.floor(coupons / 2);
  for (const couponId of ids.slice(0, half)) await reserver.reserve(couponId, 1); // bound to async, one entry each
  await reserver.close();
  await deps.db.query(`UPDATE coupons SET issue_mode = 'SYNC' WHERE id IN (${ids.slice(half).join(',')})`);
  consumer = await startConsumerProcess(env, { name: 'consumer', logDir: logs.path });
  await sleep(5000); // drains the entries, settles
  const [cpu0, redisCpu0, calls0, at0] = [cpuSeconds(consumer.child.pid), cpuSeconds(redisServer.pid()), await commandCalls(deps.redis), Date.now()];
  await sleep(seconds * 1000);
  const [cpu1, redisCpu1, calls1, at1] = [cpuSeconds(consumer.child.pid), cpuSeconds(redisServer.pid()), await commandCalls(deps.redis), Date.now()];
  const wall = (at1 - at0) / 1000;
  const perSecond = Object.fromEntries(Object.entries(calls1)
    .map(([name, n]) => [name, Math.round(((n - (calls0[name] ?? 0)) / wall) * 10) / 10])
    .filter(([name, rate]) => rate > 0 && name !== 'info'));
  const total = Object.values(perSecond).reduce((a, b) => a + b, 0);
  const persisted = (await deps.db.query('SELECT COUNT(*) AS n FROM coupon_issues'))[0][0].n;
  console.log(JSON.stringify({
    root, coupons, async: half, sync: coupons - half, seconds: wall, persisted: Number(persisted),
    consumerCpuPercentOfCore: Math.round(((cpu1 - cpu0) / wall) * 1000) / 10,
    redisCpuPercentOfCore: Math.round(((redisCpu1 - redisCpu0) / wall) * 1000) / 10,
    redisCommandsPerSecond: Math.round(total), byCommand: perSecond,
  }));
} finally {
  await consumer?.stop();
  await deps.close();
  await redisServer.stop();
  await dropDatabase(mysqlUrl, `fcfs_idle_cost_${id}`).catch(() => undefined);
  await logs.release(false);
}
