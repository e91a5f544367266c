import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { createStrategy } from '../../src/sync-issue/index.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let app: FastifyInstance;
/** The app's clock runs `offsetMs` ahead of the machine's, or stands at `frozenAt`: expiry without sleeping or racing it. */
const clock: { offsetMs: number; frozenAt?: number } = { offsetMs: 0 };

beforeAll(async () => {
  t = await createTestEnv();
  const deps = { ...t.deps, config: loadConfig({ ...t.env, LOG_LEVEL: 'silent' }), now: () => new Date(clock.frozenAt ?? Date.now() + clock.offsetMs) };
  app = await buildApp(deps, { strategy: createStrategy('mysql-atomic', deps) });
});
afterEach(() => {
  delete clock.frozenAt; // a test that failed while time stood still does not stop it for the next
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});

type Json = Record<string, unknown>;
const post = (url: string, payload: Json) => app.inject({ method: 'POST', url, payload });
const createCoupon = async (over: Json = {}) => {
  const now = Date.now() + clock.offsetMs;
  const res = await post('/v1/coupons', {
    title: 'queue', totalQuantity: 10, discountAmount: 1, minAvailableAmount: 0, waitingRoom: {},
    dateIssueStart: new Date(now - 60_000).toISOString(), dateIssueEnd: new Date(now + 3_600_000).toISOString(), ...over,
  });
  expect(res.statusCode).toBe(201);
  return res.json().id as number;
};
const join = (couponId: number, userId: number) => post(`/v1/coupons/${couponId}/queue`, { userId });
const status = (couponId: number, ticket: string) => app.inject({ method: 'GET', url: `/v1/coupons/${couponId}/queue/${ticket}` });
const claimAsync = (couponId: number, userId: number, ticket?: string) =>
  post('/v1/issue-async', { couponId, userId, ...(ticket === undefined ? {} : { ticket }) });
const claimSync = (couponId: number, userId: number, ticket?: string) =>
  post('/v1/issue', { couponId, userId, ...(ticket === undefined ? {} : { ticket }) });

async function joinAll(couponId: number, users: readonly number[]): Promise<Map<number, Json>> {
  const answers = await Promise.all(users.map((u) => join(couponId, u)));
  for (const a of answers) expect(a.statusCode).toBe(201);
  return new Map(users.map((u, i) => [u, answers[i]!.json() as Json]));
}

/**
 * One atomic read of the queue's accounting: units held by tickets ADMITTED (a claim in flight
 * included: not yet claimed), units taken (issued before the queue was loaded, plus claims settled),
 * and the async path's reservations. held + taken must never pass the total, and every reservation
 * must be one of them (reserved <= held + taken).
 */
async function heldPlusTaken(couponId: number): Promise<{ held: number; taken: number; reserved: number }> {
  const [meta, , , held, , , , users] = t.deps.keys.waitingRoom(couponId);
  const r = (await t.deps.redis.multi().zcard(held).hmget(meta, 'base', 'claimed').hlen(users).exec())!;
  const [base, claimed] = (r[1]![1] as (string | null)[]).map(Number);
  return { held: r[0]![1] as number, taken: base! + claimed!, reserved: r[2]![1] as number };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('waiting room: 5,000 joiners for 1,000 units (async claims)', () => {
  it('gives positions 1..5,000, admits the first 1,000, issues exactly 1,000, then tells everyone else SOLD_OUT', async () => {
    const couponId = await createCoupon({ totalQuantity: 1000 });
    const users = range(1, 5000);
    const tickets = await joinAll(couponId, users);
    const positions = [...tickets.values()].map((j) => j.position as number).sort((a, b) => a - b);
    expect(positions).toEqual(range(1, 5000));
    for (const j of tickets.values()) {
      expect(j.state).toBe((j.position as number) <= 1000 ? 'ADMITTED' : 'WAITING');
    }
    expect(await heldPlusTaken(couponId)).toMatchObject({ held: 1000, taken: 0 });

    // Everyone tries to claim at once; only the admitted get in.
    const claims = await Promise.all(users.map((u) => claimAsync(couponId, u, tickets.get(u)!.ticket as string)));
    const byCode = new Map<string, number>();
    for (const c of claims) byCode.set(c.statusCode === 202 ? 'OK' : c.json().code, (byCode.get(c.statusCode === 202 ? 'OK' : c.json().code) ?? 0) + 1);
    expect(Object.fromEntries(byCode)).toEqual({ OK: 1000, NOT_ADMITTED: 4000 });
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(1000);
    expect(await heldPlusTaken(couponId)).toEqual({ held: 0, taken: 1000, reserved: 1000 });

    const after = await Promise.all(users.map((u) => status(couponId, tickets.get(u)!.ticket as string)));
    const states = after.map((s) => s.json().state as string);
    expect(states.filter((s) => s === 'CLAIMED')).toHaveLength(1000);
    expect(states.filter((s) => s === 'SOLD_OUT')).toHaveLength(4000);
    const late = await join(couponId, 99_999);
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
  });
});

describe('waiting room: the contract', () => {
  it('answers 201 then 200 with the same ticket; ahead counts who stands before; retryAfterMs paces the polls', async () => {
    const couponId = await createCoupon({ totalQuantity: 1 });
    const first = await join(couponId, 1);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ position: 1, ahead: 0, state: 'ADMITTED', estimatedWaitSeconds: 0, retryAfterMs: null });
    expect(Date.parse(first.json().admittedUntil)).toBeGreaterThan(Date.now());
    const again = await join(couponId, 1);
    expect(again.statusCode).toBe(200);
    expect(again.json().ticket).toBe(first.json().ticket);
    const second = (await join(couponId, 2)).json();
    const third = (await join(couponId, 3)).json();
    expect(second).toMatchObject({ position: 2, ahead: 1, state: 'WAITING', admittedUntil: null });
    expect(third).toMatchObject({ position: 3, ahead: 2, state: 'WAITING' });
    expect(third.retryAfterMs).toBeGreaterThan(0);
    expect(third.estimatedWaitSeconds).toBeGreaterThan(0);
  });

  it('refuses claims without a ticket, with another user\'s, with a WAITING one, and twice with one ticket: nothing taken', async () => {
    const couponId = await createCoupon({ totalQuantity: 1 });
    const a = (await join(couponId, 1)).json();
    const b = (await join(couponId, 2)).json();
    for (const res of [
      await claimAsync(couponId, 1),
      await claimAsync(couponId, 2, a.ticket),
      await claimAsync(couponId, 2, b.ticket),
      await claimAsync(couponId, 1, 'forged-forged-forged-x'),
    ]) {
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('NOT_ADMITTED');
    }
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(0);
    const twice = await Promise.all([claimAsync(couponId, 1, a.ticket), claimAsync(couponId, 1, a.ticket)]);
    expect(twice.map((r) => r.statusCode).sort()).toEqual([202, 409]);
    expect((await claimAsync(couponId, 1, a.ticket)).json().code).toBe('NOT_ADMITTED');
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(1);
    expect((await status(couponId, a.ticket)).json().state).toBe('CLAIMED');
    expect((await status(couponId, b.ticket)).json().state).toBe('SOLD_OUT');
  });

  it('404 TICKET_NOT_EXIST for forged tickets and another coupon\'s; 409 NO_WAITING_ROOM; no room: the ticket is not needed', async () => {
    const couponId = await createCoupon();
    const other = await createCoupon();
    const a = (await join(couponId, 1)).json();
    for (const ticket of ['nope', 'A'.repeat(22), a.ticket]) {
      const res = await status(ticket === a.ticket ? other : couponId, ticket);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('TICKET_NOT_EXIST');
    }
    const plain = await createCoupon({ waitingRoom: null });
    expect((await join(plain, 1)).json()).toMatchObject({ code: 'NO_WAITING_ROOM' });
    expect((await join(plain, 1)).statusCode).toBe(409);
    expect((await claimAsync(plain, 1)).statusCode).toBe(202);
    expect((await join(123_456, 1)).statusCode).toBe(404);
  });

  it('refuses joins outside the window (pre-queue opens preQueueSeconds early) with 409 INVALID_COUPON_ISSUE_DATE', async () => {
    const now = Date.now();
    const later = await createCoupon({ waitingRoom: { preQueueSeconds: 60 },
      dateIssueStart: new Date(now + 120_000).toISOString(), dateIssueEnd: new Date(now + 240_000).toISOString() });
    expect((await join(later, 1)).json().code).toBe('INVALID_COUPON_ISSUE_DATE');
    const ended = await createCoupon({ dateIssueStart: new Date(now - 120_000).toISOString(), dateIssueEnd: new Date(now - 60_000).toISOString() });
    expect((await join(ended, 1)).json().code).toBe('INVALID_COUPON_ISSUE_DATE');
    const soon = await createCoupon({ waitingRoom: { preQueueSeconds: 60 },
      dateIssueStart: new Date(now + 30_000).toISOString(), dateIssueEnd: new Date(now + 240_000).toISOString() });
    expect((await join(soon, 1)).json()).toMatchObject({ state: 'PRE_QUEUE', position: null, ahead: null });
  });

  it('stops the polls of those still waiting once the window has closed (retryAfterMs null)', async () => {
    const couponId = await createCoupon({ totalQuantity: 1 });
    await join(couponId, 1);
    const waiting = (await join(couponId, 2)).json();
    expect(waiting.retryAfterMs).toBeGreaterThan(0);
    clock.offsetMs += 2 * 3_600_000;
    try {
      expect((await status(couponId, waiting.ticket)).json()).toMatchObject({ state: 'WAITING', position: 2, retryAfterMs: null });
    } finally {
      clock.offsetMs -= 2 * 3_600_000;
    }
  });

  it('shows and changes the setting through the coupon JSON and PATCH', async () => {
    const couponId = await createCoupon({ waitingRoom: { admissionTtlSeconds: 30 } });
    const got = await app.inject({ method: 'GET', url: `/v1/coupons/${couponId}` });
    expect(got.json().waitingRoom).toEqual({ admissionTtlSeconds: 30, preQueueSeconds: 0 });
    const patched = await app.inject({ method: 'PATCH', url: `/v1/coupons/${couponId}`, payload: { waitingRoom: null } });
    expect(patched.json().waitingRoom).toBeNull();
    expect((await join(couponId, 1)).json().code).toBe('NO_WAITING_ROOM');
    for (const bad of [{ admissionTtlSeconds: 0 }, { admissionTtlSeconds: 3601 }, { preQueueSeconds: 86_401 }, { extra: 1 }]) {
      expect((await app.inject({ method: 'PATCH', url: `/v1/coupons/${couponId}`, payload: { waitingRoom: bad } })).statusCode).toBe(400);
    }
  });
});

describe('waiting room: a claim that fails', () => {
  it('leaves the ticket ADMITTED after a fault (500), so the same ticket claims once the path works', async () => {
    const couponId = await createCoupon({ totalQuantity: 1 });
    const a = (await join(couponId, 1)).json();
    const deps = { ...t.deps, config: loadConfig({ ...t.env, LOG_LEVEL: 'silent' }) };
    const broken = await buildApp(deps, { strategy: { name: 'broken', issue: () => Promise.reject(new Error('disk on fire')) } });
    try {
      const res = await broken.inject({ method: 'POST', url: '/v1/issue', payload: { couponId, userId: 1, ticket: a.ticket } });
      expect(res.statusCode).toBe(500);
    } finally {
      await broken.close();
    }
    expect((await status(couponId, a.ticket)).json().state).toBe('ADMITTED');
    expect(await heldPlusTaken(couponId)).toMatchObject({ held: 1, taken: 0 });
    expect((await claimSync(couponId, 1, a.ticket)).statusCode).toBe(200);
    expect((await status(couponId, a.ticket)).json().state).toBe('CLAIMED');
  });

  it('marks the ticket SOLD_OUT when the issue path says sold out (a total lowered under admitted tickets)', async () => {
    const couponId = await createCoupon({ totalQuantity: 2 });
    const a = (await join(couponId, 1)).json();
    const b = (await join(couponId, 2)).json();
    expect([a.state, b.state]).toEqual(['ADMITTED', 'ADMITTED']);
    expect((await app.inject({ method: 'PATCH', url: `/v1/coupons/${couponId}`, payload: { totalQuantity: 1 } })).statusCode).toBe(200);
    expect((await claimSync(couponId, 1, a.ticket)).statusCode).toBe(200);
    expect((await claimSync(couponId, 2, b.ticket)).json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
    expect((await status(couponId, b.ticket)).json().state).toBe('SOLD_OUT');
    expect(await heldPlusTaken(couponId)).toMatchObject({ held: 0, taken: 1 });
  });
});

describe('waiting room: a sold-out coupon answered from the API\'s memory', () => {
  it('still asks for an admitted ticket first (NOT_ADMITTED, not sold out) once the async path caches the coupon as sold out', async () => {
    const couponId = await createCoupon({ totalQuantity: 2 });
    const a = (await join(couponId, 1)).json();
    const b = (await join(couponId, 2)).json();
    expect((await app.inject({ method: 'PATCH', url: `/v1/coupons/${couponId}`, payload: { totalQuantity: 1 } })).statusCode).toBe(200);
    expect((await claimAsync(couponId, 1, a.ticket)).statusCode).toBe(202);
    // The script says sold out: the reserver then keeps the coupon's winners in memory (read in the background).
    expect((await claimAsync(couponId, 2, b.ticket)).json().code).toBe('INVALID_COUPON_ISSUE_QUANTITY');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const noTicket = await claimAsync(couponId, 3);
    expect(noTicket.statusCode).toBe(409);
    expect(noTicket.json().code).toBe('NOT_ADMITTED');
    expect((await claimAsync(couponId, 1)).json().code).toBe('NOT_ADMITTED'); // the winner too: the room answers first
  });
});

describe('waiting room: no-shows (sync claims)', () => {
  it('after the 100 no-shows expire, exactly the next 100 are admitted and the total ends at exactly 1,000', async () => {
    const couponId = await createCoupon({ totalQuantity: 1000, waitingRoom: { admissionTtlSeconds: 1 } });
    // Time stands still while 900 claim (a loaded machine could take longer than the 1 s ttl), then jumps past it.
    clock.frozenAt = Date.now();
    const tickets = await joinAll(couponId, range(1, 1200));
    // Joins ran concurrently: who stands where is the server's order, so pick people by position.
    const at = new Map([...tickets.entries()].map(([u, j]) => [j.position as number, { user: u, ticket: j.ticket as string }]));
    const claims = await Promise.all(range(1, 900).map((p) => claimSync(couponId, at.get(p)!.user, at.get(p)!.ticket)));
    expect(claims.every((c) => c.statusCode === 200)).toBe(true);
    expect(await heldPlusTaken(couponId)).toMatchObject({ held: 100, taken: 900 });

    clock.frozenAt += 2000; // the 100 admitted who did not claim are past their admittedUntil
    try {
      const noShow = at.get(950)!;
      expect((await status(couponId, noShow.ticket)).json().state).toBe('EXPIRED');
      expect((await claimSync(couponId, noShow.user, noShow.ticket)).json().code).toBe('NOT_ADMITTED');
      const rest = await Promise.all(range(1001, 200).map((p) => status(couponId, at.get(p)!.ticket)));
      const admitted = rest.filter((r) => r.json().state === 'ADMITTED').map((r) => r.json().position as number);
      expect(admitted.sort((a, b) => a - b)).toEqual(range(1001, 100));
      expect(await heldPlusTaken(couponId)).toMatchObject({ held: 100, taken: 900 });
      const late = await Promise.all(range(1001, 200).map((p) => claimSync(couponId, at.get(p)!.user, at.get(p)!.ticket)));
      expect(late.filter((r) => r.statusCode === 200)).toHaveLength(100);
      expect(await countIssues(t.deps.db, couponId)).toEqual({ rows: 1000, distinctUsers: 1000, issuedQuantity: 1000, totalQuantity: 1000 });
      expect((await status(couponId, at.get(1100)!.ticket)).json().state).toBe('CLAIMED');
      expect((await status(couponId, at.get(1101)!.ticket)).json().state).toBe('SOLD_OUT');
    } finally {
      delete clock.frozenAt;
    }
  });
});

describe('waiting room: joins concurrent with claims', () => {
  it('never holds and takes more than the total at any sampled moment, and issues exactly the total', async () => {
    const total = 300;
    const couponId = await createCoupon({ totalQuantity: total });
    let done = false;
    const samples: number[] = [];
    const uncovered: number[] = [];
    const sampler = (async () => {
      while (!done) {
        const c = await heldPlusTaken(couponId);
        samples.push(c.held + c.taken);
        uncovered.push(c.reserved - c.held - c.taken);
      }
    })();
    // Every joiner claims as soon as its own answer admits it; the rest poll once and claim if admitted by then.
    const users = range(1, 1500);
    await Promise.all(users.map(async (u) => {
      const j = (await join(couponId, u)).json();
      const s = j.state === 'ADMITTED' ? j : (await status(couponId, j.ticket)).json();
      if (s.state === 'ADMITTED') await claimAsync(couponId, u, j.ticket);
    }));
    done = true;
    await sampler;
    expect(samples.length).toBeGreaterThan(2);
    expect(Math.max(...samples)).toBeLessThanOrEqual(total);
    expect(Math.max(...uncovered)).toBeLessThanOrEqual(0);
    expect(await t.deps.redis.hlen(t.deps.keys.users(couponId))).toBe(total);
  });
});

describe('waiting room: Redis loses the queue mid-event (sync claims)', () => {
  it('rebuilds it from MySQL with the units issued as its base: old tickets are unknown, never over-admitted', async () => {
    const couponId = await createCoupon({ totalQuantity: 10 });
    for (const u of range(1, 20)) await join(couponId, u); // one at a time: user u stands at position u
    const tickets = new Map(await Promise.all(range(1, 20).map(async (u) => [u, (await join(couponId, u)).json()] as const)));
    for (const u of range(1, 6)) expect((await claimSync(couponId, u, tickets.get(u)!.ticket as string)).statusCode).toBe(200);
    await t.deps.redis.del(...t.deps.keys.waitingRoom(couponId));

    expect((await status(couponId, tickets.get(7)!.ticket as string)).statusCode).toBe(404);
    expect((await claimSync(couponId, 7, tickets.get(7)!.ticket as string)).json().code).toBe('NOT_ADMITTED');
    const rejoined = await joinAll(couponId, range(7, 14));
    const admitted = [...rejoined.values()].filter((j) => j.state === 'ADMITTED');
    expect(admitted).toHaveLength(4);
    expect(await heldPlusTaken(couponId)).toMatchObject({ held: 4, taken: 6 });
    const claims = await Promise.all([...rejoined.entries()].map(([u, j]) => claimSync(couponId, u, j.ticket as string)));
    expect(claims.filter((c) => c.statusCode === 200)).toHaveLength(4);
    expect(await countIssues(t.deps.db, couponId)).toMatchObject({ rows: 10, issuedQuantity: 10 });
  });
});
