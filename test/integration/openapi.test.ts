import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/entry-points/api/app.js';
import { ErrorCode } from '../../src/errors.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }>>;
}

let t: TestEnv;
let app: FastifyInstance;
const routes: RouteOptions[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  // Every route the app registers, whoever adds it: a route added later is checked without editing this test.
  app = await buildApp(t.deps, { onRoute: (r) => { routes.push(r); } });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});

const documented = (r: RouteOptions) => !(r.schema as { hide?: boolean } | undefined)?.hide;
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const methodsOf = (r: RouteOptions) => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const res = await app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<OpenApiDoc>();
    expect(doc.openapi).toMatch(/^3\./);
    const result = await new Validator().validate(JSON.parse(res.body) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route the app registers (except the files and pages of the docs themselves), with its responses', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json<OpenApiDoc>();
    const listed = routes.filter(documented).flatMap((r) => methodsOf(r).map((m) => `${m} ${r.url}`));
    // The issue, coupon, admin, live, page and operations routes at least: the filter above hides none of them.
    for (const must of ['POST /v1/issue', 'POST /v1/issue-async', 'GET /v1/coupons/:couponId/live', 'GET /', 'GET /events/:couponId', 'GET /health', 'GET /metrics']) {
      expect(listed).toContain(must);
    }
    for (const r of routes.filter(documented)) {
      for (const m of methodsOf(r)) {
        const op = doc.paths[openApiPath(r.url)]?.[m.toLowerCase()];
        expect(op, `${m} ${r.url} in the document`).toBeDefined();
        expect(Object.keys(op!.responses).some((s) => s.startsWith('2')), `${m} ${r.url}: a success response`).toBe(true);
        expect(Object.keys(op!.responses).some((s) => /^[45]/.test(s)), `${m} ${r.url}: its error responses`).toBe(true);
        if (['POST', 'PATCH', 'PUT'].includes(m) && r.schema?.body) expect(op!.requestBody, `${m} ${r.url}: its body`).toBeDefined();
      }
    }
    const hidden = routes.filter((r) => !documented(r)).map((r) => r.url);
    for (const url of hidden) expect(url, 'only the document, its UI and static files are hidden').toMatch(/^\/(openapi\.json$|docs|assets\/)/);
  });

  it('names every error code of the contract', async () => {
    const text = (await app.inject({ url: '/openapi.json' })).body;
    for (const code of Object.values(ErrorCode)) expect(text, code).toContain(code);
  });

  it('serves a browsable UI at /docs', async () => {
    const res = await app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
  });
});
