import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRow } from '../../src/bench/bench-row.js';
import { planScenario, targetOf } from '../../src/bench/scenarios.js';
import { wrkAvailable } from '../../src/bench/wrk-generator.js';
import { spawnCli } from '../../src/harness/service-processes.js';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const EXACT = ['process-lock', 'redis-lock', 'mysql-lock', 'mysql-atomic', 'redis-async'];
const QUANTITY = 40;

interface Row {
  strategy: string;
  scenario: string;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  succeeded: number;
  quantity: number;
  issuedInMysql: number | null;
  overIssued: number | null;
  duplicates: number | null;
  ratioToBaseline: number | null;
  redisMysqlAgree: boolean | null;
  exact: boolean | null;
}

/** Runs the built CLI (what users run: `npm run build` first) and resolves with its exit code and output. */
async function runCli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const proc = spawnCli(args, env);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

describe('coupon bench on a tiny workload', () => {
  const id = randomBytes(4).toString('hex');
  const database = `fcfs_test_bench_${id}`;
  const prefix = `test:${id}:`;
  let dir: string;
  /** The bench's temp dir (TMPDIR), to see that it leaves nothing behind. */
  let benchTmp: string;
  let env: Record<string, string>;
  let redis: Redis;
  let admin: mysql.Connection;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coupon-bench-test-'));
    benchTmp = join(dir, 'tmp');
    await mkdir(benchTmp);
    env = { MYSQL_URL, REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent', TMPDIR: benchTmp };
    redis = new Redis(REDIS_URL);
    const u = new URL(MYSQL_URL);
    admin = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password) });
  });

  afterAll(async () => {
    // The bench cleans up after itself; this only guards against a failed run leaving data behind.
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    await admin.end();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  const small = ['--duration', '1', '--warmup', '0', '--quantity', String(QUANTITY), '--coupons', '3', '--connections', '8', '--no-progress', '--database', database];

  it('measures every strategy, reports the required fields, finds the exact ones exact, exits 0 and cleans up', async () => {
    const json = join(dir, 'closed.json');
    const out = join(dir, 'report');
    const { code, output } = await runCli(['bench', ...small, '--generator', 'autocannon', '--no-generator-check', '--json', json, '--out', out], env);
    expect(code, output).toBe(0);
    const rows = JSON.parse(await readFile(json, 'utf8')) as Row[];
    expect(new Set(rows.map((r) => r.strategy))).toEqual(new Set(['baseline', 'none', ...EXACT]));
    expect(rows).toHaveLength(7 * 3);
    for (const r of rows) {
      expect(typeof r.strategy).toBe('string');
      expect(['flood', 'many', 'repeat']).toContain(r.scenario);
      expect(r.requestsPerSec).toBeGreaterThan(0);
      for (const p of ['p50', 'p90', 'p99', 'max'] as const) expect(typeof r.latencyMs[p]).toBe('number');
      expect(typeof r.succeeded).toBe('number');
      expect(r).toHaveProperty('issuedInMysql');
      expect(r).toHaveProperty('overIssued');
      expect(r).toHaveProperty('duplicates');
      expect(typeof r.ratioToBaseline).toBe('number');
    }
    for (const r of rows.filter((x) => EXACT.includes(x.strategy))) {
      const where = `${r.strategy} / ${r.scenario}`;
      expect(r.exact, where).toBe(true);
      expect(r.overIssued, where).toBe(0);
      expect(r.duplicates, where).toBe(0);
      // One hot coupon with far more demand than stock: every unit goes, not one more. A second of
      // load on a busy machine can ask too little for that, so the sell-out is checked where it asked enough.
      if (r.scenario !== 'many' && r.requests >= 3 * QUANTITY) expect(r.issuedInMysql, where).toBe(QUANTITY);
      else expect(r.issuedInMysql, where).toBeLessThanOrEqual(r.quantity);
    }
    for (const r of rows.filter((x) => x.strategy === 'redis-async')) expect(r.redisMysqlAgree).toBe(true);
    expect(await readFile(join(out, 'benchmarks.md'), 'utf8')).toContain('| strategy |');
    expect(await readFile(join(out, 'benchmarks.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    const [dbs] = await admin.query('SHOW DATABASES LIKE ?', [database]);
    expect(dbs).toHaveLength(0);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(await readdir(benchTmp)).toEqual([]);
  });

  it('runs the open model (fixed arrival rate) and wrk when installed', async () => {
    const json = join(dir, 'open.json');
    const { code, output } = await runCli(['bench', ...small, '--strategy', 'baseline,mysql-atomic,redis-async', '--scenario', 'flood', '--rate', '300', '--json', json], env);
    expect(code, output).toBe(0);
    const rows = JSON.parse(await readFile(json, 'utf8')) as (Row & { model: string })[];
    expect(rows.map((r) => r.model)).toEqual(['open', 'open', 'open']);
    for (const r of rows.filter((x) => x.strategy !== 'baseline')) expect(r.issuedInMysql).toBe(QUANTITY);

    if (!wrkAvailable()) return;
    const wrkJson = join(dir, 'wrk.json');
    const wrk = await runCli(['bench', ...small, '--strategy', 'baseline,mysql-lock', '--scenario', 'flood', '--generator', 'wrk', '--json', wrkJson], env);
    expect(wrk.code, wrk.output).toBe(0);
    expect(wrk.output).toMatch(/generator check: wrk -t1 -c8 \d+ req\/s vs wrk -t2 -c8 \d+ req\/s/);
    const wrkRows = JSON.parse(await readFile(wrkJson, 'utf8')) as Row[];
    const lock = wrkRows.find((r) => r.strategy === 'mysql-lock')!;
    // A second of wrk on a busy machine may answer fewer than the stock: sold out where it asked enough.
    if (lock.requests >= 3 * QUANTITY) expect(lock.issuedInMysql).toBe(QUANTITY);
    else expect(lock.issuedInMysql).toBe(lock.succeeded);
  });

  it('runs each variant on its own services (a private redis-server where it asks for one) and labels the rows', async () => {
    const json = join(dir, 'variants.json');
    // --keep-data leaves the shared Redis keys in place, to see which variant wrote there.
    // Two seconds: the variants take two turns each, and the second turn's users are new ones.
    const { code, output } = await runCli(['bench', ...small, '--duration', '2', '--strategy', 'redis-async', '--scenario', 'flood', '--variants', 'default,redis-aof-always', '--keep-data', '--json', json], env);
    expect(code, output).toBe(0);
    const rows = JSON.parse(await readFile(json, 'utf8')) as (Row & { variant: string; responses: Record<string, number> })[];
    expect(rows.map((r) => [r.strategy, r.variant])).toEqual([['redis-async', 'default'], ['redis-async', 'redis-aof-always']]);
    for (const r of rows) {
      expect(Object.keys(r.responses).sort(), r.variant).toEqual(['202', '409 INVALID_COUPON_ISSUE_QUANTITY']);
      expect(r.exact, r.variant).toBe(true);
      expect(r.issuedInMysql, r.variant).toBe(QUANTITY);
      // Read from the variant's own Redis: API, consumer and the bench's check used the same one.
      expect(r.redisMysqlAgree, r.variant).toBe(true);
    }
    expect(output).toMatch(/variant redis-aof-always: a redis-server of its own at redis:\/\/127\.0\.0\.1:\d+ \(--save\s+--appendonly yes --appendfsync always\)/);
    expect(output).toMatch(/^strategy\s+variant\s+scenario\s+req\/s/m);
    // Only the default variant's coupon reached the shared Redis.
    expect(await redis.keys(`${prefix}*:users`)).toHaveLength(1);
    // The private server's data folder went with it; no log folder stays after a run that went well.
    expect(await readdir(benchTmp)).toEqual([]);
  });

  it('compares identity and rate limits on vs off: each generator sends every user its own token, which the API accepts', async () => {
    const json = join(dir, 'identity.json');
    const { code, output } = await runCli(['bench', ...small, '--strategy', 'baseline,redis-async', '--scenario', 'flood', '--variants', 'default,limits-on,jwt', '--no-generator-check', '--json', json], env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/variant jwt: \d+ user tokens signed/);
    const rows = JSON.parse(await readFile(json, 'utf8')) as (Row & { variant: string; responses: Record<string, number> })[];
    expect(rows.map((r) => `${r.strategy} ${r.variant}`)).toEqual([
      'baseline default', 'redis-async default', 'baseline limits-on', 'redis-async limits-on', 'baseline jwt', 'redis-async jwt',
    ]);
    for (const r of rows.filter((x) => x.strategy === 'redis-async')) {
      expect(r.exact, r.variant).toBe(true);
      expect(r.issuedInMysql, r.variant).toBe(QUANTITY);
    }
    // Only successes and the expected refusals: no 401/403 (every token sent, for its user) and no 429.
    const jwtAnswers = async (extra: readonly string[], name: string): Promise<Record<string, number>> => {
      const file = join(dir, `${name}.json`);
      const run = await runCli(['bench', ...small, '--strategy', 'redis-async', '--scenario', 'flood', '--variants', 'jwt', ...extra, '--json', file], env);
      expect(run.code, run.output).toBe(0);
      return (JSON.parse(await readFile(file, 'utf8')) as { responses: Record<string, number> }[])[0]?.responses ?? {};
    };
    const answers = [
      rows.find((r) => r.strategy === 'redis-async' && r.variant === 'jwt')?.responses ?? {},
      await jwtAnswers(['--generator', 'autocannon'], 'identity-autocannon'),
      await jwtAnswers(['--rate', '300'], 'identity-open'),
    ];
    for (const responses of answers) {
      expect(responses['202'], JSON.stringify(responses)).toBeGreaterThan(0);
      for (const key of Object.keys(responses)) expect(key, JSON.stringify(responses)).toMatch(/^(202|409 [A-Z_]+)$/);
    }
    // The token file went with the run.
    expect(await readdir(benchTmp)).toEqual([]);
  });

  it('without wrk says how to install it, falls back to autocannon, checks it against one more worker, and reads each component\'s CPU (two consumers, a Redis of its own)', async () => {
    // A PATH with getconf (the clock tick) and redis-server (--own-redis) and nothing else: no wrk, as on a fresh machine.
    const bin = join(dir, 'bin-without-wrk');
    await mkdir(bin);
    for (const tool of ['getconf', 'redis-server']) await symlink(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), join(bin, tool));
    const noWrk = { ...env, PATH: bin };
    const json = join(dir, 'fallback.json');
    const { code, output } = await runCli(['bench', ...small, '--strategy', 'baseline,redis-async', '--scenario', 'flood', '--workers', '1', '--consumers', '2', '--own-redis', '--keep-logs', '--json', json], noWrk);
    expect(code, output).toBe(0);
    expect(output.split('\n').filter((l) => l.includes('wrk is not installed'))).toEqual([
      'wrk is not installed: using autocannon with 1 worker(s) (install wrk for the lighter generator: apt-get install -y wrk)',
    ]);
    // Redis's CPU is the run's alone: a server of its own, not REDIS_URL's.
    expect(output).toMatch(/variant default: a redis-server of its own at redis:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/generator check: autocannon -w1 -c8 \d+ req\/s vs autocannon -w2 -c8 \d+ req\/s \(ratio [\d.]+\)/);
    const rows = JSON.parse(await readFile(json, 'utf8')) as (Row & { generator: string; cpuUsPerRequest: Record<string, number | null>; consumerCpuUsPerReservation: number | null })[];
    expect(rows.map((r) => r.generator)).toEqual(['autocannon', 'autocannon']);
    const [base, async] = rows;
    expect(base?.cpuUsPerRequest.api).toBeGreaterThan(0);
    expect(base?.cpuUsPerRequest.consumer).toBeNull();
    expect(async?.exact).toBe(true);
    // Every component's processes were found and read (a second of load may use under one 10 ms tick of some).
    expect(async?.cpuUsPerRequest.api).toBeGreaterThan(0);
    for (const c of ['redis', 'mysql', 'consumer']) expect(async?.cpuUsPerRequest[c], c).toBeTypeOf('number');
    expect(async?.consumerCpuUsPerReservation).toBeTypeOf('number');
    const logDir = /the services' logs are in (\S+)/.exec(output)?.[1];
    expect((await readdir(logDir!)).filter((f) => f.includes('consumer')).sort()).toEqual(['redis-async-consumer-1.log', 'redis-async-consumer-2.log']);
    await rm(logDir!, { recursive: true });

    const forced = await runCli(['bench', ...small, '--strategy', 'baseline', '--generator', 'wrk'], noWrk);
    expect(forced.code).not.toBe(0);
    expect(forced.output).toContain('wrk is not installed (apt-get install -y wrk)');
  });

  it('names the failure when a strategy that must be exact is not', () => {
    const plan = planScenario('flood', { quantity: 10, coupons: 1, users: undefined, repeatShare: 0 });
    const row = buildRow({
      strategy: 'mysql-lock', variant: 'default', target: targetOf('mysql-lock'), plan, connections: 8, rate: null, drain: null, consumer: null,
      cpu: { api: null, redis: null, mysql: null, consumer: null },
      load: { generator: 'wrk', durationSec: 1, responses: { '200': 12, '409 INVALID_COUPON_ISSUE_QUANTITY': 88 }, requestsPerSec: 100, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, errors: 0 },
      outcome: { total: 10, rows: 12, overIssued: 2, duplicates: 0, counterDrift: -2, couponsNotFull: 0, redisReserved: 0, streamLeft: 0, issuingMs: 5 },
    });
    expect(row.exact).toBe(false);
    expect(row.failures).toContain('over-issued 2');
    expect(row.failures).toContain('issued_quantity off by -2');
  });
});
