// `npm run build && node scripts/cluster-failover-loss.mjs` (WAIT=1: with REDIS_WAIT_REPLICAS=1): what a
// failover loses to asynchronous replication when the replica keeps up. Three runs, each on a fresh local
// cluster: the consumer frozen (every 202 lives only in Redis), a flood of reservations at full speed, the
// coupon's master killed with kill -9 once 3,000 are held; then the replica promoted, the flood goes on
// 3 s, the consumer drains. Lost: users answered 202 who have no row.
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
for (let run = 0; run < 3; run++) {
  const cluster = await startRedisCluster();
  const db = 'fcfs_failover_loss', base = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
  await dropDatabase(base, db);
  const mysqlUrl = withDatabase(base, db);
  await migrate(mysqlUrl);
  const env = { MYSQL_URL: mysqlUrl, REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: 'failover-loss:', LOG_LEVEL: 'warn', CONSUMER_CLAIM_IDLE_MS: '1000', ...(process.env.WAIT ? { REDIS_WAIT_REPLICAS: '1' } : {}) };
  const api = await startHttpProcess(env, { name: 'api' });
  const consumer = spawnCli(['consumer'], env);
  const pool = createPool(mysqlUrl, 2);
  try {
    const couponId = await createCouponEvent({ url: api.url }, 'loss', 1_000_000);
    const master = await cluster.masterOf(`failover-loss:{coupon:${couponId}}:rules`);
    const probe = new Redis(master.url);
    await sleep(500);
    consumer.pause();
    let user = 1, flooding = true;
    const flood = floodWhile([api.url], '/v1/issue-async', () => (flooding ? { couponId, userId: user++ } : undefined), 64);
    while (Number(await probe.hlen(`failover-loss:{coupon:${couponId}}:users`)) < 3000) await sleep(5);
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
    await dropDatabase(base, db);
  }
}
