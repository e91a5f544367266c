// What the metrics' once-a-second Redis work costs the API process, with 100 coupons open: the live
// page's flush of one second (each coupon ~60 answers over two codes and ~40 latency buckets) and the
// consistency watch's backlog read of 100 async coupons (20 reservations each). CPU of this process
// (process.cpuUsage) and of Redis (INFO cpu, one INFO included) per call, mean of 30 after a warm-up.
// Needs `npm run build`; to compare with an older commit, build that one and run its copy of this script.
// Usage: node scripts/measure-metrics-redis.mjs
import { loadConfig } from '../dist/config.js';
import { createDeps } from '../dist/deps.js';
import { createLiveAnswers } from '../dist/metrics/live-answers.js';
import { ReservationStreams } from '../dist/async-issue/stream/reservation-streams.js';
import { deleteKeysWithPrefix } from '../dist/adapters/redis/client.js';

const COUPONS = 100;
const ROUNDS = 30;
const prefix = `metrics-redis-cost-${process.pid}:`;
const deps = createDeps(loadConfig({
  MYSQL_URL: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: prefix,
  LOG_LEVEL: 'silent',
}));
const ids = Array.from({ length: COUPONS }, (_, i) => i + 1);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const redisCpuUs = async () => {
  const info = await deps.redis.info('cpu');
  const read = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)[1]);
  return (read('used_cpu_sys') + read('used_cpu_user')) * 1e6;
};

/** Mean CPU of `run` over ROUNDS calls, `before` (not measured) ahead of each: [API ms, Redis ms]. */
async function measure(before, run) {
  before();
  await run();
  let api = 0;
  let redis = 0;
  for (let i = 0; i < ROUNDS; i++) {
    before();
    const [c0, r0] = [cpuUs(), await redisCpuUs()];
    await run();
    api += cpuUs() - c0;
    redis += (await redisCpuUs()) - r0;
  }
  return [api / ROUNDS / 1000, redis / ROUNDS / 1000].map((ms) => ms.toFixed(2));
}

try {
  const live = createLiveAnswers(deps, (err) => { throw err; }, 3_600_000);
  const fill = () => {
    for (const id of ids) for (let i = 0; i < 60; i++) live.record(id, i % 10 === 0 ? 'SOLD_OUT' : 'OK', 0.3 * 1.1 ** (i % 40));
  };
  const [flushApi, flushRedis] = await measure(fill, () => live.flush());
  await live.stop();
  console.log(`live flush of ${COUPONS} coupons' second: API ${flushApi} ms CPU, Redis ${flushRedis} ms CPU`);

  const now = Date.now();
  for (const id of ids) {
    await deps.scripts.loadCoupon({ couponId: id, totalQuantity: 1000, startMs: now - 60_000, endMs: now + 60_000, issueMode: 'ASYNC', resetFirst: true, epoch: 'e' });
    for (let user = 1; user <= 20; user++) await deps.scripts.issueReserve(id, user, now);
  }
  const streams = new ReservationStreams(deps);
  // Older builds read one coupon at a time (backlog); newer ones all in one pipeline (backlogs).
  const read = streams.backlogs ? () => streams.backlogs(ids) : () => Promise.all(ids.map((id) => streams.backlog(id)));
  const [watchApi, watchRedis] = await measure(() => {}, read);
  console.log(`backlog read of ${COUPONS} coupons: API ${watchApi} ms CPU, Redis ${watchRedis} ms CPU`);
} finally {
  await deleteKeysWithPrefix(deps.redis, prefix);
  await deps.close();
}
