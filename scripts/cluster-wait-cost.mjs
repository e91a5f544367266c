// `npm run build && node scripts/cluster-wait-cost.mjs` (N=20000 by default): the cost of REDIS_WAIT_REPLICAS=1 on a local cluster: two API processes of the same age (off / on), the
// same flood of reservations (distinct users, stock never runs out) through each in turn, 3 rounds.
// CPU µs per request from /proc/<pid>/stat (utime+stime), the API's and the 6 redis-servers' summed.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
const W = new URL('../dist', import.meta.url).href;
const { startRedisCluster } = await import(`${W}/harness/redis-cluster.js`);
const { startHttpProcess, spawnCli } = await import(`${W}/harness/service-processes.js`);
const { floodWhile, countOutcomes } = await import(`${W}/harness/flood.js`);
const { withDatabase, dropDatabase } = await import(`${W}/harness/database.js`);
const { migrate } = await import(`${W}/adapters/mysql/migrations.js`);
const { createCouponEvent } = await import(`${W}/harness/api-client.js`);
const N = Number(process.env.N ?? 20000);
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const cluster = await startRedisCluster();
const db = 'fcfs_h1_waitcost';
const base = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
await dropDatabase(base, db);
const mysqlUrl = withDatabase(base, db);
await migrate(mysqlUrl);
const env = { MYSQL_URL: mysqlUrl, REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: 'h1wait:', LOG_LEVEL: 'error', RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' };
const apis = { off: await startHttpProcess({ ...env, REDIS_WAIT_REPLICAS: '0' }, { name: 'off' }), on: await startHttpProcess({ ...env, REDIS_WAIT_REPLICAS: '1' }, { name: 'on' }) };
const consumer = spawnCli(['consumer'], env);
const redisPids = cluster.nodes.map((n) => n.pid());
const rows = { off: [], on: [] };
let user = 1;
try {
  // Warm-up (JIT, connections, slot maps), not measured.
  for (const name of ['off', 'on']) {
    const couponId = await createCouponEvent({ url: apis[name].url }, `warm ${name}`, 10_000_000);
    let sent = 0;
    await floodWhile([apis[name].url], '/v1/issue-async', () => (sent++ < 5000 ? { couponId, userId: user++ } : undefined), 64);
  }
  for (let round = 0; round < 3; round++) {
    for (const name of round % 2 ? ['on', 'off'] : ['off', 'on']) {
      const api = apis[name];
      const couponId = await createCouponEvent({ url: api.url }, `wait ${name} ${round}`, 10_000_000);
      let sent = 0;
      const a0 = ticks(api.child.pid), r0 = redisPids.reduce((s, p) => s + ticks(p), 0), t0 = performance.now();
      const answers = await floodWhile([api.url], '/v1/issue-async', () => (sent++ < N ? { couponId, userId: user++ } : undefined), 64);
      const ms = performance.now() - t0, a1 = ticks(api.child.pid), r1 = redisPids.reduce((s, p) => s + ticks(p), 0);
      const lat = answers.map((x) => x.answeredAt - x.sentAt).sort((x, y) => x - y);
      const out = countOutcomes(answers);
      rows[name].push({ round, reqPerSec: Math.round(N / (ms / 1000)), apiUs: ((a1 - a0) * 10_000) / N, redisUs: ((r1 - r0) * 10_000) / N, p50: lat[Math.floor(N * 0.5)], p99: lat[Math.floor(N * 0.99)], ok: out['202'] });
      console.log(name, JSON.stringify(rows[name].at(-1)));
    }
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[1];
  for (const name of ['off', 'on']) {
    const r = rows[name];
    console.log(`${name}: median of 3: ${med(r.map((x) => x.reqPerSec))} req/s, API ${med(r.map((x) => x.apiUs)).toFixed(1)} µs/req, redis (6 nodes) ${med(r.map((x) => x.redisUs)).toFixed(1)} µs/req, p50 ${med(r.map((x) => x.p50))} ms, p99 ${med(r.map((x) => x.p99))} ms`);
  }
} finally {
  await consumer.stop();
  await apis.off.stop();
  await apis.on.stop();
  await cluster.stop();
  await dropDatabase(base, db);
}
