import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { rawRequest } from '../helpers/raw-http.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_TOKEN, HS_SECRET, hsToken } from '../helpers/tokens.js';

// Seeded: a failure prints the seed (and fast-check its path); FUZZ_SEED=<seed> replays it.
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

let t: TestEnv;
let apps: { none: FastifyInstance; jwt: FastifyInstance };
let coupons: number[];
let token: string;

beforeAll(async () => {
  t = await createTestEnv();
  const config = (env: Record<string, string>) => ({ ...t.deps, config: loadConfig({ ...t.env, ADMIN_TOKEN, ...env }) });
  // Limits off in none mode (every case comes from one address); jwt keeps its default limits.
  apps = {
    none: await buildApp(config({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' })),
    jwt: await buildApp(config({ AUTH_MODE: 'jwt', JWT_SECRET: HS_SECRET })),
  };
  coupons = [
    await insertTestCoupon(t.deps, { total: 1000 }),
    await insertTestCoupon(t.deps, { total: 1000 }),
    await insertTestCoupon(t.deps, { total: 1 }),
    await insertTestCoupon(t.deps, { total: 5, start: new Date(Date.now() + 3_600_000), end: new Date(Date.now() + 7_200_000) }),
  ];
  token = await hsToken({ sub: '3' });
});
afterAll(async () => {
  await apps?.none.close();
  await apps?.jwt.close();
  await t?.destroy();
});

/** Everything a request could have written: rows in MySQL, reservations and queued entries in Redis. */
async function footprint(): Promise<string> {
  const [[r]] = (await t.deps.db.query('SELECT (SELECT COUNT(*) FROM coupons) AS c, (SELECT COUNT(*) FROM coupon_issues) AS i, (SELECT COALESCE(SUM(issued_quantity), 0) FROM coupons) AS q')) as unknown as [[Record<string, number>]];
  const redis = t.deps.redis.pipeline();
  for (const id of coupons) redis.hlen(t.deps.keys.users(id)).xlen(t.deps.keys.stream(id));
  const lens = ((await redis.exec()) ?? []).map(([, n]) => n);
  return JSON.stringify([r, lens]);
}

const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
const anyValue = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const idText = fc.oneof(
  fc.constantFrom('1', '2', '3', '0', '-1', '1.5', '1e3', '9007199254740992', '99999999999999999999', '%00', '%E0%A4%A', '..', 'null'),
  fc.nat({ max: 10 }).map(String),
  fc.stringMatching(/^[A-Za-z0-9%._~-]{1,120}$/),
);
const couponIdValue = fc.oneof(fc.constantFrom(...[0, 1, 2, 3].map((i) => () => coupons[i]!)).map((f) => f()), anyValue);
const userIdValue = fc.oneof(fc.integer({ min: 1, max: 50 }), anyValue);
const issueBody = fc.record({ userId: userIdValue, couponId: couponIdValue, extra: anyValue }, { requiredKeys: [] });
const couponBody = fc.record({
  title: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 20 }), anyValue),
  totalQuantity: fc.oneof(fc.integer({ min: -5, max: 200_000_000 }), anyValue),
  discountAmount: fc.oneof(fc.nat(), anyValue),
  minAvailableAmount: fc.oneof(fc.nat(), anyValue),
  dateIssueStart: fc.oneof(fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01T00:00:00', '0000-01-01T00:00:00Z', 'soon'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue),
  dateIssueEnd: fc.oneof(fc.constantFrom('2027-01-01T00:00:00+09:00', '10000-01-01T00:00:00Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue),
}, { requiredKeys: [] });

const body = fc.oneof(
  issueBody.map((b) => JSON.stringify(b)),
  couponBody.map((b) => JSON.stringify(b)),
  fc.json(),
  fc.string({ maxLength: 100 }),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constant(''),
  fc.constant('{"userId":1,"couponId":1,"__proto__":{"x":1}}'),
  fc.constant('{"title":"\\ud800"}'),
);

const request = fc.record({
  app: fc.constantFrom<'none' | 'jwt'>('none', 'jwt'),
  method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
  path: fc.oneof(
    fc.constantFrom('/v1/issue', '/v1/issue-async', '/v1/coupons', '/health'),
    idText.map((id) => `/v1/coupons/${id}`),
    fc.tuple(idText, idText).map(([c, u]) => `/v1/coupons/${c}/issues/${u}`),
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)), // inject itself throws on a relative URL
  ),
  contentType: fc.option(fc.oneof(
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx'),
    printable,
  ), { nil: undefined }),
  authorization: fc.option(fc.oneof(
    fc.constantFrom(() => `Bearer ${ADMIN_TOKEN}`, () => `Bearer ${token}`, () => 'Bearer ', () => 'Basic abc').map((f) => f()),
    printable,
  ), { nil: undefined }),
  forwardedFor: fc.option(printable, { nil: undefined }),
  body,
});

describe(`fuzzing every endpoint with fast-check (seed ${SEED}, ${RUNS} cases)`, () => {
  it('never answers 5xx, always in our error body, and a 4xx writes nothing', async () => {
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const before = await footprint();
      const headers: Record<string, string> = {};
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (r.forwardedFor !== undefined) headers['x-forwarded-for'] = r.forwardedFor;
      const withBody = r.method !== 'GET' && r.method !== 'HEAD';
      const res = await apps[r.app].inject({ method: r.method as 'GET', url: r.path, headers, ...(withBody ? { body: r.body } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(500);
      if (res.statusCode >= 400) {
        if (r.method !== 'HEAD') expect(JSON.parse(res.body)).toEqual({ isSuccess: false, code: expect.any(String), comment: expect.any(String) });
        expect(await footprint()).toBe(before);
      }
    }), { seed: SEED, numRuns: RUNS, reporter: (out) => { if (out.failed) throw new Error(`fuzz failed with FUZZ_SEED=${SEED}\n${fc.defaultReportMessage(out)}`); } });
  });

  it('raw bytes on the wire (request line and headers): never 5xx, always our error body, and the server lives on', async () => {
    const url = await apps.none.listen({ port: 0, host: '127.0.0.1' });
    const port = Number(new URL(url).port);
    // Any byte, control characters included: what Node's parser must refuse in our body.
    const line = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 60 }).map((bytes) => String.fromCharCode(...bytes));
    await fc.assert(fc.asyncProperty(line, line, async (target, header) => {
      const res = await rawRequest(port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nX-Fuzz: ${header}\r\nConnection: close\r\n\r\n`, 'latin1'));
      expect(res.status).toBeLessThan(500);
      if (res.status >= 400) expect(JSON.parse(res.body)).toMatchObject({ isSuccess: false, code: expect.any(String), comment: expect.any(String) });
    }), { seed: SEED, numRuns: 300, reporter: (out) => { if (out.failed) throw new Error(`fuzz failed with FUZZ_SEED=${SEED}\n${fc.defaultReportMessage(out)}`); } });
    expect((await apps.none.inject({ url: '/health' })).statusCode).toBe(200);
  });
});
