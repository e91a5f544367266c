import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistConsumer } from '../../src/async-issue/consumer/persist-consumer.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { registerConsumerMetrics } from '../../src/metrics/consumer-metrics.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { waitUntil } from '../helpers/drain.js';
import { parseSamples } from '../helpers/metrics.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** The metric names the issue makes part of the contract. */
const CONTRACT = [
  'coupon_issue_requests_total', 'coupon_issue_duration_seconds_bucket', 'coupon_total_quantity', 'coupon_reserved',
  'coupon_persisted', 'coupon_stream_lag', 'coupon_stream_pending', 'coupon_consistency_gap', 'coupon_consumer_persisted_total',
  'coupon_consumer_batches_total', 'coupon_consumer_dead_letters_total', 'coupon_consumer_reclaimed_total',
  'coupon_consumer_batch_duration_seconds_bucket', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds',
];

/** Words of PromQL that are not metric names. */
const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'abs', 'histogram_quantile', 'by', 'without', 'and', 'or',
  'unless', 'on', 'ignoring', 'offset', 'label_values', 'topk', 'bottomk', 'clamp_min', 'delta', 'deriv', 'time', 'vector',
]);
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(['up']);

/** The metric names a PromQL expression reads: label matchers, grouping labels, ranges and strings removed first. */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),[^)]*\)/g, '$1');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

interface Panel { title: string; targets?: { expr: string }[]; datasource?: { uid: string } }

let t: TestEnv;
let app: FastifyInstance;
let exported: Set<string>;

beforeAll(async () => {
  t = await createTestEnv();
  // What `coupon start` serves: the API's metrics and the consumer's in one registry, with an async coupon watched.
  const metrics = createMetrics();
  registerConsumerMetrics(metrics.registry, new PersistConsumer(t.deps, { name: 'x', batchSize: 1, claimIdleMs: 100, maxAttempts: 1, maxDeliveries: 1 }).stats)(0.01);
  app = await buildApp(t.deps, { metrics });
  const couponId = await insertTestCoupon(t.deps, { total: 5 });
  expect((await app.inject({ method: 'POST', url: '/v1/issue-async', payload: { couponId, userId: 1 } })).statusCode).toBe(202);
  await waitUntil('the coupon watched', async () => (await app.inject({ url: '/metrics' })).body.includes('coupon_stream_lag{'));
  exported = new Set(parseSamples((await app.inject({ url: '/metrics' })).body).map((s) => s.name));
});
afterAll(async () => {
  await app?.close();
  await t?.destroy();
});

describe('the exported metrics', () => {
  it('include every name of the contract', () => {
    expect(CONTRACT.filter((n) => !exported.has(n))).toEqual([]);
  });

  it('metricNamesIn reads what a query uses (and this check could fail)', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le, path) (rate(coupon_issue_duration_seconds_bucket{path="x"}[5m])))'))
      .toEqual(['coupon_issue_duration_seconds_bucket']);
    expect(metricNamesIn('max by (coupon_id) (abs(coupon_consistency_gap)) > 0 and up{job=~"a|b"} == 0')).toEqual(['coupon_consistency_gap', 'up']);
    expect(metricNamesIn('max(process_resident_memory_bytes) / 1e9 > 0.5')).toEqual(['process_resident_memory_bytes']);
    expect(metricNamesIn('rate(coupon_issue_request_total[1m])').filter((n) => !exported.has(n))).toEqual(['coupon_issue_request_total']);
  });
});

describe('ops/grafana', () => {
  const dashboards = readdirSync(new URL('ops/grafana/dashboards/', ROOT)).filter((f) => f.endsWith('.json'));

  it.each(dashboards)('%s: every query reads a metric the service exports', (file) => {
    const dash = JSON.parse(read(`ops/grafana/dashboards/${file}`)) as { panels: Panel[]; templating: { list: { query: { query: string } }[] } };
    const exprs = [...dash.panels.flatMap((p) => (p.targets ?? []).map((q) => q.expr)), ...dash.templating.list.map((v) => v.query.query)];
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap((e) => metricNamesIn(e).filter((n) => !exported.has(n)).map((n) => `${n} in ${e}`));
    expect(unknown).toEqual([]);
  });

  it('shows what the issue asks for on one screen, through the provisioned datasource', () => {
    const dash = JSON.parse(read('ops/grafana/dashboards/coupon-event.json')) as { panels: Panel[] };
    const uid = /uid:\s*(\S+)/.exec(read('ops/grafana/provisioning/datasources/prometheus.yml'))![1];
    expect(dash.panels.every((p) => p.datasource?.uid === uid)).toBe(true);
    const used = new Set(dash.panels.flatMap((p) => (p.targets ?? []).flatMap((q) => metricNamesIn(q.expr))));
    for (const name of ['coupon_issue_requests_total', 'coupon_reserved', 'coupon_total_quantity', 'coupon_stream_lag', 'coupon_stream_pending',
      'coupon_consumer_persisted_total', 'coupon_issue_duration_seconds_bucket', 'nodejs_eventloop_lag_p99_seconds', 'coupon_consistency_gap']) {
      expect(used, name).toContain(name);
    }
    const providers = read('ops/grafana/provisioning/dashboards/coupon.yml');
    expect(providers).toContain('path: /var/lib/grafana/dashboards');
  });
});

describe('ops/prometheus', () => {
  it('every alert reads a metric the service exports (or Prometheus\'s own up)', () => {
    const exprs = [...read('ops/prometheus/alerts.yml').matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    const unknown = exprs.flatMap((e) => metricNamesIn(e).filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n)).map((n) => `${n} in ${e}`));
    expect(unknown).toEqual([]);
  });

  it('scrapes the API and the consumer every 5 s on the ports the compose file gives them', () => {
    const prom = read('ops/prometheus/prometheus.yml');
    expect(prom).toMatch(/scrape_interval: 5s/);
    expect(prom).toContain('"api:8080"');
    expect(prom).toContain('"consumer:9464"');
    expect(prom).toContain('/etc/prometheus/alerts.yml');
  });
});

describe('docker-compose.yml', () => {
  const run = promisify(execFile);
  // Only PATH from our environment: the file's own defaults decide, not what this shell happens to set.
  const compose = (args: string[], env: Record<string, string> = { ADMIN_TOKEN: 'x' }) =>
    run('docker-compose', ['-f', 'docker-compose.yml', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });

  it('is valid (docker-compose config -q) and mounts the provisioning files', async () => {
    await compose(['config', '-q']);
    const { stdout } = await compose(['config']);
    for (const service of ['prometheus:', 'grafana:', 'api:', 'consumer:']) expect(stdout).toContain(`  ${service}`);
    expect(stdout).toMatch(/ops\/prometheus:\/etc\/prometheus:ro/);
    expect(stdout).toMatch(/ops\/grafana\/provisioning:\/etc\/grafana\/provisioning:ro/);
    expect(stdout).toMatch(/ops\/grafana\/dashboards:\/var\/lib\/grafana\/dashboards:ro/);
    expect(stdout).toMatch(/METRICS_PORT: '9464'/);
  });

  it('refuses to start without ADMIN_TOKEN, saying so', async () => {
    await expect(compose(['config'], {})).rejects.toThrow(/set ADMIN_TOKEN/);
  });

  it('publishes MySQL and Redis on 127.0.0.1 only', async () => {
    const { stdout } = await compose(['config']);
    for (const port of ['3306', '6379']) {
      const published = stdout.split('\n').filter((l) => l.includes(`:${port}`) && l.trim().startsWith('-'));
      expect(published.length, stdout).toBeGreaterThan(0);
      for (const line of published) expect(line).toContain(`127.0.0.1:${port}:${port}`);
    }
  });

  it('runs Redis with appendfsync always and the API requiring it', async () => {
    const { stdout } = await compose(['config']);
    expect(stdout).toMatch(/--appendfsync\s*\n?\s*-?\s*always/);
    expect(stdout).toMatch(/REQUIRE_DURABLE_REDIS: power-loss/);
  });
});
