import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { waitUntil } from '../helpers/drain.js';
import { openSocket, rawRequest, readResponse, type RawResponse } from '../helpers/raw-http.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

const TOKEN = 'hardening-admin-token';

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

async function serve(env: Record<string, string> = {}) {
  const app: FastifyInstance = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, ADMIN_TOKEN: TOKEN, ...env }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0 };
}

function expectOurBody(res: RawResponse, status: number, code = 'INVALID_REQUEST') {
  expect(res.status, res.body).toBe(status);
  expect(JSON.parse(res.body)).toMatchObject({ isSuccess: false, code, comment: expect.any(String) });
}

describe('a client that stalls', () => {
  it('mid-body is cut off with a 408 in our body once REQUEST_TIMEOUT_MS has passed', async () => {
    const { app, port } = await serve({ REQUEST_TIMEOUT_MS: '1000' });
    try {
      const s = await openSocket(port);
      const answer = readResponse(s);
      s.write('POST /v1/issue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"userId":');
      expectOurBody(await answer, 408);
    } finally {
      await app.close();
    }
  });

  it('with the defaults, a silent socket, half-sent headers and a half-sent body are each cut off with a 408 (within 30 s)', async () => {
    const { app, port } = await serve();
    try {
      const stall = async (bytes: string) => {
        const s = await openSocket(port);
        const answer = readResponse(s);
        s.write(bytes);
        return answer;
      };
      const answers = await Promise.all([
        stall(''),
        stall('GET /health HTTP/1.1\r\nHost: x\r\n'),
        stall('POST /v1/issue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"userId":'),
      ]);
      for (const a of answers) expectOurBody(a, 408);
    } finally {
      await app.close();
    }
  }, 30_000);

  it('by default the server cuts a stalled request within 30 s and checks its connections every second', async () => {
    const { app } = await serve();
    try {
      const server = app.server;
      expect(server.requestTimeout).toBeGreaterThan(0);
      expect(server.requestTimeout + 1000).toBeLessThanOrEqual(30_000);
      expect(server.headersTimeout).toBeLessThanOrEqual(server.requestTimeout);
      expect(server.keepAliveTimeout).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});

describe('the connection cap (MAX_CONNECTIONS)', () => {
  it('answers a connection over the cap 503 in our body, and takes new ones once others close', async () => {
    const { app, port } = await serve({ MAX_CONNECTIONS: '5' });
    try {
      const connections = () => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
      const held = await Promise.all(Array.from({ length: 5 }, () => openSocket(port)));
      await waitUntil('the server holds the 5 connections', async () => (await connections()) === 5);
      const over = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      expectOurBody(over, 503, 'UNAVAILABLE');
      expect(over.headers['retry-after']).toBe('1');
      for (const s of held) s.destroy();
      await waitUntil('the held connections are closed', async () => (await connections()) === 0);
      expect((await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('every 4xx carries our error body', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => { ({ app, port } = await serve()); });
  afterAll(async () => { await app?.close(); });

  it.each([
    ['a bad percent-encoding', 'GET /v1/coupons/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a path parameter over 100 characters', `GET /v1/coupons/${'1'.repeat(101)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['a raw space in the path', 'GET /v1/coupons/1 2 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['NUL in a header', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400],
    ['Content-Length with Transfer-Encoding', 'POST /v1/issue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['headers over 16 KiB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a text/plain body', 'POST /v1/issue HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nuserId=1', 415],
    ['no content type', 'POST /v1/issue HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', 415],
  ])('%s', async (_, request, status) => {
    expectOurBody(await rawRequest(port, request), status);
  });
});

describe('the admin check runs before the body is read', () => {
  it('an unauthenticated caller gets 401, not the schema from a 400', async () => {
    const app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, ADMIN_TOKEN: TOKEN }) });
    try {
      for (const payload of [{ title: '' }, { nonsense: true }]) {
        const res = await app.inject({ method: 'POST', url: '/v1/coupons', payload });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      }
      const malformed = await app.inject({ method: 'POST', url: '/v1/coupons', body: '{"title":', headers: { 'content-type': 'application/json' } });
      expect(malformed.statusCode).toBe(401);
      // Tokens of other lengths are refused like any other (the comparison is of digests).
      for (const wrong of ['x', `${TOKEN}x`, TOKEN.slice(0, -1), 'y'.repeat(500)]) {
        expect((await app.inject({ method: 'POST', url: '/v1/coupons', payload: {}, headers: { authorization: `Bearer ${wrong}` } })).statusCode).toBe(401);
      }
    } finally {
      await app.close();
    }
  });
});

describe('titles are stored as sent or refused', () => {
  const coupon = (title: string) => `{"title":${title},"totalQuantity":1,"discountAmount":1,"minAvailableAmount":0,"dateIssueStart":"2026-01-01T00:00:00Z","dateIssueEnd":"2027-01-01T00:00:00Z"}`;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => { ({ app, port } = await serve()); });
  afterAll(async () => { await app?.close(); });
  const count = async () => Number(((await t.deps.db.query('SELECT COUNT(*) AS n FROM coupons')) as unknown as [[{ n: number }]])[0][0].n);
  const post = (bytes: Buffer) => rawRequest(port, Buffer.concat([
    Buffer.from(`POST /v1/coupons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`), bytes,
  ]));

  it.each([
    ['invalid UTF-8 bytes', Buffer.concat(coupon('"sale XX"').split('XX').flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xff, 0xfe]), Buffer.from(part)])))],
    ['a lone surrogate escape', Buffer.from(coupon('"sale \\ud800"'))],
    ['a lone low surrogate', Buffer.from(coupon('"\\udc00 sale"'))],
  ])('refuses %s with 400 and writes nothing', async (_, bytes) => {
    const before = await count();
    expectOurBody(await post(bytes), 400);
    expect(await count()).toBe(before);
  });

  it('keeps a real emoji, escaped or not', async () => {
    for (const title of ['"sale \\ud83d\\ude00"', '"sale 😀"']) {
      const res = await post(Buffer.from(coupon(title)));
      expect(res.status, res.body).toBe(201);
      expect((JSON.parse(res.body) as { title: string }).title).toBe('sale 😀');
    }
  });
});

describe('unknown coupon ids below the largest', () => {
  it('15,000 random ids in a gap cost a handful of MySQL queries, not one each', async () => {
    const low = await insertTestCoupon(t.deps, { total: 5 });
    await t.deps.db.query(`ALTER TABLE coupons AUTO_INCREMENT = ${low + 1_000_000}`);
    const high = await insertTestCoupon(t.deps, { total: 5 });
    // Load shedding off: 15,000 injected requests hold this very process's event loop for seconds.
    const app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, OVERLOAD_EVENT_LOOP_DELAY_MS: '0' }) });
    let queries = 0;
    const countQuery = () => { queries++; };
    t.deps.db.on('acquire', countQuery);
    try {
      const answers = new Map<number, number>();
      for (let round = 0; round < 30; round++) {
        await Promise.all(Array.from({ length: 500 }, async () => {
          const couponId = low + 1 + Math.floor(Math.random() * (high - low - 1));
          const res = await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 1, couponId } });
          answers.set(res.statusCode, (answers.get(res.statusCode) ?? 0) + 1);
        }));
      }
      console.log(`15,000 unknown ids: ${JSON.stringify(Object.fromEntries(answers))}, ${queries} MySQL queries`);
      expect(Object.fromEntries(answers)).toEqual({ 404: 15_000 });
      expect(queries).toBeLessThan(50);
      // The coupons at both ends of the gap still answer.
      expect((await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 1, couponId: high } })).statusCode).toBe(202);
      expect((await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 1, couponId: low } })).statusCode).toBe(202);
    } finally {
      t.deps.db.off('acquire', countQuery);
      await app.close();
    }
  });
});

describe('load shedding', () => {
  it('answers 503 UNAVAILABLE with Retry-After at once while over the heap threshold; /health says so', async () => {
    const app = await buildApp({ ...t.deps, config: loadConfig({ ...t.env, OVERLOAD_HEAP_USED_MB: '1' }) });
    try {
      const couponId = await insertTestCoupon(t.deps, { total: 5 });
      let res = await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 1, couponId } });
      for (let i = 0; res.statusCode !== 503 && i < 100; i++) {
        await sleep(50); // the first sample is taken a moment after the start
        res = await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { userId: 2, couponId } });
      }
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ isSuccess: false, code: 'UNAVAILABLE' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      const health = await app.inject({ url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'DOWN', load: 'OVERLOADED', mysql: 'UP', redis: 'UP' });
    } finally {
      await app.close();
    }
  });
});
