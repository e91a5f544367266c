// `npm run build && node scripts/cluster-measure.mjs <what>`, on local clusters the harness starts:
//
// wait-cost (N=20000 by default): the cost of REDIS_WAIT_REPLICAS=1. Two API processes of the same age
//   (off / on), the same flood of reservations (distinct users, stock never runs out) through each in
//   turn after a warm-up, 3 rounds. CPU µs per request from /proc/<pid>/stat (utime+stime), the API's and
//   the 6 redis-servers' summed.
// failover-loss (WAIT=1: with REDIS_WAIT_REPLICAS=1): what a failover loses to asynchronous replication
//   when the replica keeps up. Three runs, each on a fresh cluster: the consumer frozen (every 202 lives
//   only in Redis), a flood of reservations at full speed, the coupon's master killed with kill -9 once
//   3,000 are held; then the replica promoted, the flood goes on 3 s, the consumer drains. Lost: users
//   answered 202 who have no row.
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
const { createPool } = await import(`${W}/adapters/mysql/pool.js`);
const { Redis } = await import('ioredis');
const sleep = (ms) => new Promise((r) => { globalThis.setTimeout(r, ms); });
const BASE = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const DB = 'fcfs_cluster_measure';
async function freshDatabase() {
  await dropDatabase(BASE, DB);
  const url = withDatabase(BASE, DB);
  await migrate(url);
  return url;
}

async function waitCost() {
  const N = Number(process.env.N ?? 20000);
  const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
  const cluster = await startRedisCluster();
  const mysqlUrl = await freshDatabase();
  const env = { MYSQL_URL: mysqlUrl, REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: 'cluster-measure:', LOG_LEVEL: 'error', RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' };
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
    await dropDatabase(BASE, DB);
  }
}

async function failoverLoss() {
  for (let run = 0; run < 3; run++) {
    const cluster = await startRedisCluster();
    const mysqlUrl = await freshDatabase();
    const env = { MYSQL_URL: mysqlUrl, REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: 'cluster-measure:', LOG_LEVEL: 'warn', CONSUMER_CLAIM_IDLE_MS: '1000', ...(process.env.WAIT ? { REDIS_WAIT_REPLICAS: '1' } : {}) };
    const api = await startHttpProcess(env, { name: 'api' });
    const consumer = spawnCli(['consumer'], env);
    const pool = createPool(mysqlUrl, 2);
    try {
      const couponId = await createCouponEvent({ url: api.url }, 'loss', 1_000_000);
      const master = await cluster.masterOf(`cluster-measure:{coupon:${couponId}}:rules`);
      const probe = new Redis(master.url);
      await sleep(500);
      consumer.pause();
      let user = 1, flooding = true;
      const flood = floodWhile([api.url], '/v1/issue-async', () => (flooding ? { couponId, userId: user++ } : undefined), 64);
      while (Number(await probe.hlen(`cluster-measure:{coupon:${couponId}}:users`)) < 3000) await sleep(5);
      probe.disconnect();
      await master.kill9();
      consumer.resume();
      await cluster.waitUntilOk();
      await sleep(3000);
      flooding = false;
      const answers = await flood;
      const accepted = new Set(answers.filter((a) => a.outcome === '202').map((a) => a.body.userId));
      await sleep(5000); // the drain of what was held
      const [rows] = await pool.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ?', [couponId]);
      const persisted = new Set(rows.map((r) => Number(r.user_id)));
      const lost = [...accepted].filter((u) => !persisted.has(u));
      const told = [...api.output().matchAll(/"reservationsLost":(\d+)/g)].map((m) => Number(m[1]));
      console.log(JSON.stringify({ run, accepted: accepted.size, persisted: persisted.size, lost: lost.length, apiReported: told, outcomes: countOutcomes(answers) }));
    } finally {
      await pool.end();
      await consumer.stop();
      await api.stop();
      await cluster.stop();
      await dropDatabase(BASE, DB);
    }
  }
}

const what = { 'wait-cost': waitCost, 'failover-loss': failoverLoss }[process.argv[2] ?? ''];
if (!what) {
  console.error('usage: node scripts/cluster-measure.mjs wait-cost|failover-loss');
  process.exit(2);
}
await what();
