// Does the live page slow the issue path? The bench's async flood (wrk, one hot coupon of 1,000,
// fresh users, 64 connections, 10 s) against one API process and a consumer, with 0 and with 100
// live streams open on the flooded event, in pairs (order alternating), same run. Needs `npm run build` and wrk.
// Usage: node scripts/measure-live-streams.mjs [pairs=3] [streams=100] [seconds=10]
/* global setTimeout */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { migrate } from '../dist/adapters/mysql/migrations.js';
import { createRedis, deleteKeysWithPrefix } from '../dist/adapters/redis/client.js';
import { createCouponEvent } from '../dist/harness/api-client.js';
import { dropDatabase, withDatabase } from '../dist/harness/database.js';
import { createLogDir, startConsumerProcess, startHttpProcess } from '../dist/harness/service-processes.js';
import { runWrk } from '../dist/bench/wrk-generator.js';

const [pairs = 3, streams = 100, seconds = 10] = process.argv.slice(2).map(Number);
const base = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const id = randomBytes(4).toString('hex');
const database = `fcfs_live_cost_${id}`;
const mysqlUrl = withDatabase(base, database);
const env = { MYSQL_URL: mysqlUrl, REDIS_KEY_PREFIX: `live-cost-${id}:`, LOG_LEVEL: 'warn' };
const logs = createLogDir('coupon-live-cost-', id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used: stiller than requests/s on a shared machine (TRAPS.md). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function openStreams(url, n) {
  const reqs = [];
  let events = 0;
  for (let i = 0; i < n; i++) {
    const req = request(url, (res) => res.on('data', (d) => { events += String(d).split('data: ').length - 1; }));
    req.on('error', () => {});
    req.end();
    reqs.push(req);
  }
  return { events: () => events, close: () => reqs.forEach((r) => r.destroy()) };
}

await migrate(mysqlUrl);
const api = await startHttpProcess(env, { name: 'api', logDir: logs.path });
const consumer = await startConsumerProcess(env, { name: 'consumer', logDir: logs.path });
const rows = [];
try {
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [0, streams] : [streams, 0];
    const pair = {};
    for (const n of order) {
      const couponId = await createCouponEvent({ url: api.url }, `live cost ${n}`, 1000);
      const open = openStreams(`${api.url}/v1/coupons/${couponId}/live`, n);
      await sleep(2000);
      const spec = { path: '/v1/issue-async', couponIds: [couponId], users: 0, repeatShare: 0 };
      const cpu0 = cpuSeconds(api.child.pid);
      const r = await runWrk({ url: api.url, durationSec: seconds, connections: 64, rate: null, spec, counters: new SharedArrayBuffer(64) }, { threads: 1, countResponses: true });
      pair[n] = r.requestsPerSec;
      pair[`cpu${n}`] = ((cpuSeconds(api.child.pid) - cpu0) * 1e6) / (r.requestsPerSec * r.durationSec);
      if (n > 0) pair.events = open.events();
      open.close();
      await sleep(1000);
    }
    const ratio = pair[streams] / pair[0];
    const cpuRatio = pair[`cpu${streams}`] / pair.cpu0;
    rows.push({ ratio, cpuRatio });
    console.log(`pair ${p + 1} (${order.join(' then ')} streams): 0 streams ${pair[0]} req/s (${pair.cpu0.toFixed(1)} µs CPU/request in the API), `
      + `${streams} streams ${pair[streams]} req/s (${pair[`cpu${streams}`].toFixed(1)} µs; ${pair.events} snapshots received); ratio ${ratio.toFixed(3)}, CPU ratio ${cpuRatio.toFixed(3)}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(3);
  console.log(`median of ${pairs} pairs, ${streams} streams / 0: requests/s ${median(rows.map((r) => r.ratio))}, API CPU per request ${median(rows.map((r) => r.cpuRatio))}`);
} finally {
  await api.stop();
  await consumer.stop();
  await dropDatabase(base, database);
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'live-cost');
  await deleteKeysWithPrefix(redis, env.REDIS_KEY_PREFIX);
  redis.disconnect();
  await logs.release(false);
}
