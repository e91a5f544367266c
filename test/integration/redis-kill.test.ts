import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { reconcileCoupon } from '../../src/async-issue/reconcile.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { waitForDrain, waitUntil } from '../helpers/drain.js';
import { fireIssues, type IssueRequestBody } from '../../src/harness/flood.js';
import { buildFsyncTracker, cutToLastFsync, unsyncedBytes } from '../helpers/power-loss.js';
import { aofArgs, PERSISTENCE_OFF, startRedisServer, type RedisServer } from '../../src/harness/redis-server.js';
import { spawnCli, type ServiceProcess } from '../../src/harness/service-processes.js';
import { createTestEnv, failuresOf, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

/**
 * Redis killed for real (SIGKILL) in the middle of a flood on an async coupon, then started again from
 * its own files. The consumer is stopped (SIGKILL) before the kill and started again after the restart,
 * so the reservations at stake exist only in Redis when it dies: otherwise a consumer that keeps up
 * would have persisted them already. (Frozen with SIGSTOP instead, its blocking read would still take
 * the first entries into its socket and persist them on thawing, after the rebuild.)
 */

let t: TestEnv;
let scratch: string;
beforeAll(async () => {
  t = await createTestEnv();
  scratch = mkdtempSync(join(tmpdir(), 'fcfs-kill-'));
});
afterAll(async () => {
  await t?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const TOTAL = 2000;
const PERSISTED_FIRST = 500; // phase A: accepted and persisted before the freeze
const KILL_AT = 400; // phase B: Redis is killed when this many of its requests got 202 (and `killWhen` agrees)
const PHASE_B_FIRST_WAVE = 900;
const PHASE_B_LAST = 1900; // more waves, up to this user, while `killWhen` holds out

interface Stack {
  readonly redis: RedisServer;
  readonly deps: Deps;
  readonly app: FastifyInstance;
  readonly url: string;
  /** Replaced by a new process (same name) after Redis restarts. */
  consumer: ServiceProcess;
  readonly env: Record<string, string>;
  /** What the API logged (info and up). */
  readonly logs: string[];
}
let stack: Stack | undefined;

const spawnConsumer = (env: Record<string, string>): ServiceProcess =>
  spawnCli(['consumer'], { ...env, CONSUMER_NAME: 'kill-test', CONSUMER_BATCH_SIZE: '200', CONSUMER_CLAIM_IDLE_MS: '1000' });

async function startStack(redisArgs: readonly string[], redisEnv: Record<string, string> = {}): Promise<Stack> {
  const redis = await startRedisServer(redisArgs, redisEnv);
  const env = { ...t.env, REDIS_URL: redis.url };
  const logs: string[] = [];
  const deps = { ...createDeps(loadConfig(env), 'kill-api'), log: pino({ level: 'info' }, { write: (line: string) => { logs.push(line); } }) };
  const app = await buildApp(deps);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  stack = { redis, deps, app, url, consumer: spawnConsumer(env), env, logs };
  return stack;
}
afterEach(async () => {
  if (!stack) return;
  await stack.consumer.stop();
  await stack.app.close();
  await stack.deps.close();
  await stack.redis.stop();
  stack = undefined;
});

const users = (couponId: number, from: number, to: number): IssueRequestBody[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ couponId, userId: from + i }));

async function persistedUsers(couponId: number): Promise<Set<number>> {
  const [rows] = (await t.deps.db.query('SELECT user_id FROM coupon_issues WHERE coupon_id = ?', [couponId])) as unknown as [{ user_id: number }[]];
  return new Set(rows.map((r) => Number(r.user_id)));
}

interface Outcome {
  readonly couponId: number;
  /** Every user told 202, in any phase. */
  readonly accepted: Set<number>;
  /** Phase B's 202s: in Redis only when it died. */
  readonly atStake: Set<number>;
  /** Phase B's 503s: Redis died around their request, so they may or may not hold a unit. */
  readonly unsure: Set<number>;
  /** Users refused with a 409 other than DUPLICATED: they must hold nothing. */
  readonly refused: Set<number>;
  readonly persisted: Set<number>;
  /** Accepted (202) but without a row in MySQL once everything drained. */
  readonly lost: number[];
  /** The units Redis's users hash held right after the restart, before any request. */
  readonly heldAfterRestart: number;
}

interface KillPlan {
  /** Asked after each 202 of phase B once KILL_AT were accepted: kill now? (a power loss waits for unsynced writes) */
  readonly killWhen?: () => boolean;
  /** Between the SIGKILL and the restart (a power loss cuts the files back to their last fsync). */
  readonly beforeRestart?: () => void;
  /** After the restart, before the consumer starts again and phase C. */
  readonly afterRestart?: (couponId: number, logsBeforeRestart: number) => Promise<void>;
}

/**
 * Phase A persists some; the consumer is killed; phase B floods (in waves, while `killWhen` holds
 * out) until Redis is SIGKILLed there and then, from the flood's own answer callback; Redis restarts
 * from its files; a consumer starts again and phase C floods until the coupon sells out.
 */
async function floodKillRestart(s: Stack, plan: KillPlan = {}): Promise<Outcome> {
  const couponId = await insertTestCoupon(t.deps, { total: TOTAL });
  const accepted = new Set<number>();
  const refused = new Set<number>();
  const record = (b: IssueRequestBody, outcome: string) => {
    if (outcome === '202') accepted.add(b.userId);
    else if (outcome.startsWith('409') && outcome !== '409 DUPLICATED_COUPON_ISSUE') refused.add(b.userId);
  };

  const a = await fireIssues([s.url], '/v1/issue-async', users(couponId, 1, PERSISTED_FIRST), 64, record);
  expect(a.outcomes).toEqual({ 202: PERSISTED_FIRST });
  await waitUntil('phase A persisted', async () => (await persistedUsers(couponId)).size === PERSISTED_FIRST);
  await s.consumer.stop('SIGKILL');

  const atStake = new Set<number>();
  const unsure = new Set<number>();
  let killed = false;
  for (let from = PERSISTED_FIRST + 1; !killed && from <= PHASE_B_LAST; from = accepted.size + unsure.size + refused.size + 1) {
    const to = Math.min(PHASE_B_LAST, from === PERSISTED_FIRST + 1 ? PERSISTED_FIRST + PHASE_B_FIRST_WAVE : from + 99);
    // All in flight at once: after the kill each waits out the API's Redis retry (about a second) for its 503.
    await fireIssues([s.url], '/v1/issue-async', users(couponId, from, to), 1000, (b, outcome) => {
      record(b, outcome);
      if (outcome === '202') {
        atStake.add(b.userId);
        if (!killed && atStake.size >= KILL_AT && (plan.killWhen?.() ?? true)) {
          process.kill(s.redis.pid(), 'SIGKILL');
          killed = true;
        }
      } else if (outcome.startsWith('503')) {
        unsure.add(b.userId);
      }
    });
  }
  expect(killed).toBe(true);
  await s.redis.kill9();
  expect(atStake.size).toBeGreaterThanOrEqual(KILL_AT);
  // No consumer: what phase B accepted is nowhere but in the dead Redis (and its files).
  expect((await persistedUsers(couponId)).size).toBe(PERSISTED_FIRST);

  plan.beforeRestart?.();
  const logsBeforeRestart = s.logs.length;
  await s.redis.restart();
  const probe = createDeps(loadConfig(s.env), 'kill-probe');
  let heldAfterRestart: number;
  try {
    heldAfterRestart = await probe.redis.hlen(probe.keys.users(couponId));
    await plan.afterRestart?.(couponId, logsBeforeRestart);
  } finally {
    await probe.close();
  }
  s.consumer = spawnConsumer(s.env);

  // Phase C: new users and those phase B left unsure, plus some of phase A's winners (who must be told "duplicated").
  const c = await fireIssues([s.url], '/v1/issue-async', [...users(couponId, PHASE_B_LAST + 1, 4500), ...[...unsure].map((userId) => ({ couponId, userId })), ...users(couponId, 1, 50)], 128, record);
  expect(c.outcomes['409 DUPLICATED_COUPON_ISSUE']).toBeGreaterThanOrEqual(50);
  expect(c.outcomes['409 INVALID_COUPON_ISSUE_QUANTITY']).toBeGreaterThan(0); // sold out again: the whole stock was sold
  await waitForDrain(s.deps, couponId, 60_000);
  const persisted = await persistedUsers(couponId);
  return {
    couponId, accepted, atStake, unsure, refused, persisted, heldAfterRestart,
    lost: [...accepted].filter((u) => !persisted.has(u)),
  };
}

interface LossLine { msg: string; couponId: number; reservationsLost: number | null; streamEntriesLost: number | null }

/** Waits for the API's account of what the restarted Redis lost (it checks as soon as it reconnects). */
async function lossTrace(s: Stack, couponId: number, from: number): Promise<LossLine> {
  const find = () => s.logs.slice(from).map((l) => JSON.parse(l) as LossLine).find((l) => l.couponId === couponId && 'reservationsLost' in l);
  await waitUntil('the API told what Redis lost', async () => find() !== undefined, 60_000)
    .catch((err: Error) => { throw new Error(`${err.message}; its last log lines:\n${s.logs.slice(-8).join('')}`); });
  return find()!;
}

/** The count told is a lower bound of what was lost (the 202s), and can include reservations whose 202 never arrived. */
function expectCounted(line: LossLine, o: Outcome): void {
  for (const count of [line.reservationsLost, line.streamEntriesLost]) {
    expect(count).toBeGreaterThanOrEqual(o.lost.length);
    expect(count).toBeLessThanOrEqual(o.lost.length + o.unsure.size);
  }
}

/** Nothing doubled, nothing over-issued, nothing to a refused user, the whole stock sold, Redis and MySQL agree. */
async function expectExact(s: Stack, o: Outcome): Promise<void> {
  expect(await countIssues(t.deps.db, o.couponId)).toEqual({ rows: TOTAL, distinctUsers: TOTAL, issuedQuantity: TOTAL, totalQuantity: TOTAL });
  expect([...o.persisted].filter((u) => !o.accepted.has(u) && !o.unsure.has(u))).toEqual([]);
  expect([...o.refused].filter((u) => o.persisted.has(u))).toEqual([]);
  expect(await failuresOf(t.deps, o.couponId)).toEqual([]);
  expect(await reconcileCoupon(s.deps, o.couponId)).toMatchObject({ inAgreement: true, reservedNotPersisted: [], persistedNotReserved: [] });
}

// A kill -9 leaves the kernel's page cache alone: what Redis wrote (write(2)) before it died reaches the
// disk anyway, fsynced or not. So this test cannot tell `always` from `everysec` (or `no`): both lose
// nothing here. The power-loss tests below show their difference.
describe.each([['always'], ['everysec']] as const)('Redis with appendonly yes, appendfsync %s, SIGKILLed mid-flood', (fsync) => {
  it('every user who got 202 has exactly one row in MySQL (0 lost, 0 doubled) and the coupon is exact', async () => {
    const s = await startStack(aofArgs(fsync));
    let trace: LossLine | undefined;
    const o = await floodKillRestart(s, { afterRestart: async (couponId, from) => { trace = await lossTrace(s, couponId, from); } });
    // Restarted from its append-only file: every reservation it acknowledged is back before any request.
    expect(o.heldAfterRestart).toBeGreaterThanOrEqual(PERSISTED_FIRST + o.atStake.size);
    expect(o.lost).toEqual([]);
    expect(trace).toMatchObject({ reservationsLost: 0, streamEntriesLost: 0 });
    await expectExact(s, o);
    console.log(`kill -9, appendfsync ${fsync}: ${o.accepted.size} accepted, ${o.atStake.size} of them only in Redis at the kill, ${o.unsure.size} answered 503 around it; lost ${o.lost.length}`);
  });
});

/**
 * A power loss, simulated: redis-server runs with a tracker (LD_PRELOAD) that records what each fsync
 * covered; after the SIGKILL its append-only file is cut back to that, as a machine that lost power
 * would find it (taking fsync at its word: a disk whose cache lies can lose more).
 */
describe.each([
  ['always', 0],
  ['everysec', 10_000],
] as const)('a power loss (simulated) with appendfsync %s', (fsync, unsyncedAtKill) => {
  it(fsync === 'always' ? 'loses none of the 202s: Redis fsyncs before it replies' : 'loses the 202s of the writes since the last fsync (about a second\'s worth), tells how many, and the coupon stays exact', async () => {
    const log = join(scratch, `fsync-${fsync}.log`);
    const s = await startStack(aofArgs(fsync), { LD_PRELOAD: buildFsyncTracker(scratch), FSYNC_LOG: log });
    let cut = 0;
    let trace: LossLine | undefined;
    const o = await floodKillRestart(s, {
      // everysec: wait for a moment with writes no fsync covered yet, as there is most of each second under a flood.
      killWhen: () => unsyncedBytes(s.redis.dir, log) >= unsyncedAtKill,
      beforeRestart: () => { cut = cutToLastFsync(s.redis.dir, log); },
      afterRestart: async (couponId, from) => { trace = await lossTrace(s, couponId, from); },
    });
    if (fsync === 'always') {
      expect(o.lost).toEqual([]);
      expect(o.heldAfterRestart).toBeGreaterThanOrEqual(PERSISTED_FIRST + o.atStake.size);
    } else {
      expect(cut).toBeGreaterThanOrEqual(unsyncedAtKill);
      expect(o.lost.length).toBeGreaterThan(0);
      expect(o.lost.every((u) => o.atStake.has(u))).toBe(true); // only what no consumer had persisted
    }
    expectCounted(trace!, o);
    await expectExact(s, o);
    console.log(`power loss, appendfsync ${fsync}: ${o.accepted.size} accepted, ${o.atStake.size} only in Redis; ${cut} bytes not fsynced were cut; lost ${o.lost.length} (the API counted ${trace?.reservationsLost})`);
  });
});

describe('Redis without persistence, SIGKILLed mid-flood', () => {
  it('loses the 202s it held (shown, and counted by the rebuild) but never re-opens sold stock', async () => {
    const s = await startStack(PERSISTENCE_OFF);
    let trace: LossLine | undefined;
    const o = await floodKillRestart(s, { afterRestart: async (couponId, from) => { trace = await lossTrace(s, couponId, from); } });
    expect(o.heldAfterRestart).toBe(0); // restarted empty
    // What was lost is exactly what phase B accepted while no consumer ran.
    expect(o.lost.sort((a, b) => a - b)).toEqual([...o.atStake].sort((a, b) => a - b));
    expect(trace?.msg).toContain('rebuilt');
    expectCounted(trace!, o);
    // The rebuild copied MySQL's winners back before anything was sold again: phase A's users stayed
    // duplicates and the stock lost with Redis was sold once more, to exactly TOTAL.
    await expectExact(s, o);
    console.log(`kill -9, persistence off: ${o.accepted.size} accepted, ${o.atStake.size} only in Redis at the kill; lost ${o.lost.length} (the rebuild counted ${trace?.reservationsLost})`);
  });
});
