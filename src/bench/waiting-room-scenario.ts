import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { migrate } from '../adapters/mysql/migrations.js';
import { deleteKeysWithPrefix } from '../adapters/redis/client.js';
import { dropDatabase, withDatabase } from '../harness/database.js';
import { startHttpProcess } from '../harness/service-processes.js';
import { openStore } from '../harness/verify.js';

/**
 * The `waiting-room` scenario (issue #13), self-contained: its own database, key prefix and API
 * process. `joiners` clients join a coupon's pre-queue, the window opens, and each client polls at
 * the pace the server sets (retryAfterMs) until its ticket is final, claiming through
 * /v1/issue-async as soon as it is ADMITTED.
 */
export interface WaitingRoomBenchOptions {
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  readonly redisClusterNodes: readonly string[] | null;
  readonly redisKeyPrefix: string;
  readonly quantity: number;
  readonly joiners: number;
  readonly connections: number;
  readonly log: (line: string) => void;
}

export interface WaitingRoomFigures {
  readonly joiners: number;
  readonly quantity: number;
  /** Join answers per second while everyone joins (the pre-queue). */
  readonly joinsPerSec: number;
  /** From the opening to the answer of the last successful claim. */
  readonly openingToLastClaimMs: number;
  /** Of the joiners who ended SOLD_OUT, the share told so within 1 s of the last unit's claim. */
  readonly soldOutWithin1sShare: number;
  readonly claimed: number;
  /** Units reserved in Redis at the end: must equal the quantity. */
  readonly reserved: number;
  readonly requests: number;
}

interface Answer { readonly status: number; readonly body: Record<string, unknown> }

export async function runWaitingRoomBench(o: WaitingRoomBenchOptions): Promise<WaitingRoomFigures> {
  const runId = randomBytes(4).toString('hex');
  const database = `fcfs_bench_wr_${runId}`;
  const mysqlUrl = withDatabase(o.mysqlUrl, database);
  const prefix = `${o.redisKeyPrefix}bench-wr-${runId}:`;
  await migrate(mysqlUrl);
  const api = await startHttpProcess({ MYSQL_URL: mysqlUrl, REDIS_URL: o.redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' }, { name: 'api-waiting-room' });
  const pool = new Pool(api.url, { connections: o.connections, pipelining: 1 });
  const store = openStore(mysqlUrl, o, prefix);
  let requests = 0;
  const call = async (method: 'GET' | 'POST', path: string, body?: object): Promise<Answer> => {
    requests++;
    const res = await pool.request({ method, path, headers: { 'content-type': 'application/json' }, ...(body && { body: JSON.stringify(body) }) });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  try {
    // Joins open a minute early; the window opens once every client has had time to join.
    const openAt = Date.now() + 3000 + Math.ceil(o.joiners / 2);
    const created = await call('POST', '/v1/coupons', {
      title: 'waiting-room bench', totalQuantity: o.quantity, discountAmount: 1000, minAvailableAmount: 0,
      waitingRoom: { admissionTtlSeconds: 120, preQueueSeconds: 60 },
      dateIssueStart: new Date(openAt).toISOString(), dateIssueEnd: new Date(openAt + 3_600_000).toISOString(),
    });
    const couponId = created.body.id as number;
    const joinStart = Date.now();
    let lastJoin = joinStart;
    let lastClaim = 0;
    let claimed = 0;
    const soldOutAt: number[] = [];
    const client = async (userId: number): Promise<void> => {
      let t = (await call('POST', `/v1/coupons/${couponId}/queue`, { userId })).body;
      lastJoin = Date.now();
      const ticket = t.ticket as string;
      for (;;) {
        if (t.state === 'ADMITTED') {
          const c = await call('POST', '/v1/issue-async', { couponId, userId, ticket });
          if (c.status === 202) { claimed++; lastClaim = Date.now(); return; }
        }
        if (t.state === 'SOLD_OUT') { soldOutAt.push(Date.now()); return; }
        if (t.state === 'CLAIMED' || t.state === 'EXPIRED' || t.state === undefined) return;
        await sleep(Number(t.retryAfterMs ?? 1000));
        t = (await call('GET', `/v1/coupons/${couponId}/queue/${ticket}`)).body;
      }
    };
    await Promise.all(Array.from({ length: o.joiners }, (_, i) => client(i + 1)));
    const reserved = await store.redis.hlen(store.keys.users(couponId));
    const told = soldOutAt.filter((at) => at <= lastClaim + 1000).length;
    return {
      joiners: o.joiners, quantity: o.quantity,
      joinsPerSec: Math.round(o.joiners / Math.max(0.001, (lastJoin - joinStart) / 1000)),
      openingToLastClaimMs: lastClaim - openAt,
      soldOutWithin1sShare: soldOutAt.length === 0 ? 1 : Math.round((told / soldOutAt.length) * 1000) / 1000,
      claimed, reserved, requests,
    };
  } finally {
    await pool.destroy();
    await api.stop();
    await deleteKeysWithPrefix(store.redis, prefix).catch(() => undefined);
    await store.close();
    await dropDatabase(o.mysqlUrl, database);
  }
}
