import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWaitingRoom, type WaitingRoom } from '../../src/waiting-room/waiting-room.service.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let room: WaitingRoom;
/** The room's clock: set by each test, so the opening happens when a test says so. */
let nowMs = 0;
const START = Date.parse('2030-01-01T00:00:00Z');

beforeAll(async () => {
  t = await createTestEnv();
  room = createWaitingRoom({ ...t.deps, now: () => new Date(nowMs) });
});
afterAll(async () => {
  await t?.destroy();
});

/** A coupon opening at START whose pre-queue opens a minute before. */
async function preQueuedCoupon(total: number): Promise<number> {
  const id = await insertTestCoupon(t.deps, { total, start: new Date(START), end: new Date(START + 3_600_000) });
  await t.deps.db.execute('UPDATE coupons SET waiting_room_ttl_seconds = 120, waiting_room_pre_queue_seconds = 60 WHERE id = ?', [id]);
  return id;
}

/** Joins `users` one after another before the opening, opens it, and returns each user's position. */
async function shuffledPositions(couponId: number, users: readonly number[]): Promise<Map<number, number>> {
  nowMs = START - 30_000;
  const tickets = new Map<number, string>();
  for (const u of users) {
    const j = await room.join(couponId, u);
    expect(j.ticket).toMatchObject({ state: 'PRE_QUEUE', position: null, ahead: null });
    tickets.set(u, j.ticket.ticket);
  }
  nowMs = START;
  const positions = new Map<number, number>();
  for (const [u, ticket] of tickets) positions.set(u, (await room.status(couponId, ticket)).position!);
  return positions;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('waiting room: the pre-queue shuffle', () => {
  it('gives the pre-queue a permutation of 1..N at the opening, not the join order, and puts it before every later joiner', async () => {
    const couponId = await preQueuedCoupon(10);
    const users = range(1, 200);
    const positions = await shuffledPositions(couponId, users);
    expect([...positions.values()].sort((a, b) => a - b)).toEqual(range(1, 200));
    expect(users.map((u) => positions.get(u))).not.toEqual(range(1, 200)); // 1 in 200! of being wrong
    const later = await room.join(couponId, 1000);
    expect(later.ticket).toMatchObject({ position: 201, state: 'WAITING', ahead: 200 });
    // The first `total` in line were admitted at the opening.
    const admitted = users.filter((u) => positions.get(u)! <= 10);
    expect(admitted).toHaveLength(10);
  });

  it('is uniform enough over repeated openings (chi-square on who lands where, 4 people, 600 openings)', async () => {
    const runs = 600;
    const users = [1, 2, 3, 4];
    const counts = users.map(() => [0, 0, 0, 0]); // counts[user][position - 1]
    for (let i = 0; i < runs; i++) {
      const positions = await shuffledPositions(await preQueuedCoupon(1), users);
      users.forEach((u, k) => { counts[k]![positions.get(u)! - 1]! += 1; });
    }
    const expected = runs / 4;
    const chi2 = counts.flat().reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    // 9 degrees of freedom (a 4x4 table with fixed margins): 27.88 is the 0.1% tail. The join order
    // kept (no shuffle) scores 1,800; a shuffle biased even 10% toward the join order scores well above 30.
    expect(chi2).toBeLessThan(27.88);
  });
});

describe('waiting room: first come, first served after the opening', () => {
  it('gives positions in arrival order, one after another, and distinct positions under concurrency', async () => {
    const couponId = await preQueuedCoupon(1);
    nowMs = START + 1000;
    const inOrder: number[] = [];
    for (const u of range(1, 50)) inOrder.push((await room.join(couponId, u)).ticket.position!);
    expect(inOrder).toEqual(range(1, 50));
    const concurrent = await Promise.all(range(51, 500).map((u) => room.join(couponId, u)));
    expect(concurrent.map((j) => j.ticket.position!).sort((a, b) => a - b)).toEqual(range(51, 500));
    // ahead is exact: everyone before is still waiting or admitted.
    for (const j of concurrent) expect(j.ticket.ahead).toBe(j.ticket.position! - 1);
  });
});

describe('waiting room: 100,000 joiners', () => {
  it('queues 100,000 in the pre-queue, shuffles them at the opening in one step, and admits exactly the total', async () => {
    const couponId = await preQueuedCoupon(1000);
    nowMs = START - 30_000;
    const n = 100_000;
    let next = 1;
    const tickets: string[] = [];
    await Promise.all(Array.from({ length: 200 }, async () => {
      for (let u = next++; u <= n; u = next++) tickets.push((await room.join(couponId, u)).ticket.ticket);
    }));
    nowMs = START;
    const first = await room.status(couponId, tickets[0]!); // opens: 100,000 shuffled, the first 1,000 admitted
    expect(first.state === 'ADMITTED' || first.state === 'WAITING').toBe(true);
    const [meta, line, pre, held] = t.deps.keys.waitingRoom(couponId);
    expect(await t.deps.redis.hget(meta!, 'seq')).toBe(String(n));
    expect(await t.deps.redis.llen(pre!)).toBe(0);
    expect(await t.deps.redis.zcard(held!)).toBe(1000);
    expect(await t.deps.redis.zcard(line!)).toBe(n - 1000);
    const last = await room.join(couponId, n + 1);
    expect(last.ticket).toMatchObject({ position: n + 1, ahead: n, state: 'WAITING' });
  }, 120_000);
});
