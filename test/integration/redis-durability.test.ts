import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRedisPersistence } from '../../src/adapters/redis/persistence.js';
import { waitUntil } from '../helpers/drain.js';
import { aofArgs, PERSISTENCE_OFF, startRedisServer, type RedisServer } from '../../src/harness/redis-server.js';
import { spawnCli, startHttpProcess } from '../../src/harness/service-processes.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
const servers: RedisServer[] = [];
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await t?.destroy();
});

async function privateRedis(args: readonly string[]): Promise<RedisServer> {
  const s = await startRedisServer(args);
  servers.push(s);
  return s;
}

const healthOf = async (url: string) => (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;

async function persistenceOf(url: string) {
  const redis = new Redis(url);
  try {
    return await readRedisPersistence(redis);
  } finally {
    redis.disconnect();
  }
}

describe('what a 202 survives, read from Redis', () => {
  it.each([
    [aofArgs('always'), { appendonly: true, appendfsync: 'always', survives: 'power-loss', source: 'CONFIG' }],
    [aofArgs('everysec'), { appendonly: true, appendfsync: 'everysec', survives: 'process-crash', source: 'CONFIG' }],
    [aofArgs('no'), { appendonly: true, appendfsync: 'no', survives: 'process-crash', source: 'CONFIG' }],
    [PERSISTENCE_OFF, { appendonly: false, appendfsync: null, survives: 'nothing', source: 'CONFIG' }],
    // CONFIG renamed away (a common hardening): INFO persistence tells whether the AOF is on, not its fsync policy.
    [[...aofArgs('always'), '--rename-command', 'CONFIG', ''], { appendonly: true, appendfsync: null, survives: 'process-crash', source: 'INFO' }],
    [[...PERSISTENCE_OFF, '--rename-command', 'CONFIG', ''], { appendonly: false, survives: 'nothing', source: 'INFO' }],
  ])('redis-server %j', async (args, expected) => {
    const p = await persistenceOf((await privateRedis(args)).url);
    expect(p).toMatchObject(expected);
    expect(p.summary).toContain('a 202 survives');
  });
});

describe('the API at start', () => {
  it('logs one line saying what a 202 survives, and /health reports it', async () => {
    const redis = await privateRedis(aofArgs('everysec'));
    const proc = await startHttpProcess({ ...t.env, REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    const { url } = proc;
    try {
      const lines = proc.output().split('\n').filter((l) => l.includes('redis persistence:'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        survives: 'process-crash', msg: expect.stringContaining('appendfsync everysec: a 202 survives a Redis process crash; a power loss'),
      });
      expect(await healthOf(url)).toMatchObject({ status: 'UP', redisPersistence: { appendonly: true, appendfsync: 'everysec', survives: 'process-crash' } });
    } finally {
      await proc.stop();
    }
  });

  it.each([
    ['1', PERSISTENCE_OFF, 'a Redis crash'],
    ['power-loss', aofArgs('everysec'), 'a power loss'],
  ])('REQUIRE_DURABLE_REDIS=%s refuses to start (exit 2, one line) on a Redis whose 202s would not survive it', async (required, args, what) => {
    const redis = await privateRedis(args);
    const p = spawnCli(['api'], { ...t.env, REDIS_URL: redis.url, REQUIRE_DURABLE_REDIS: required, LOG_LEVEL: 'info', PORT: '0' });
    expect(await p.exited).toBe(2);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('REQUIRE_DURABLE_REDIS');
    expect(lines[0]).toContain(what);
  });

  it('REQUIRE_DURABLE_REDIS=1 starts on appendfsync always, and /health turns 503 if Redis is reconfigured below it', async () => {
    const redis = await privateRedis(aofArgs('always'));
    const proc = await startHttpProcess({ ...t.env, REDIS_URL: redis.url, REQUIRE_DURABLE_REDIS: '1' });
    const { url } = proc;
    const admin = new Redis(redis.url);
    try {
      expect((await healthOf(url)).redisPersistence).toMatchObject({ survives: 'power-loss' });
      await admin.config('SET', 'appendonly', 'no');
      await waitUntil('health 503 after appendonly no', async () => (await fetch(`${url}/health`)).status === 503, 20_000);
      expect(await healthOf(url)).toMatchObject({ status: 'DOWN', mysql: 'UP', redis: 'UP', redisPersistence: { survives: 'nothing' } });
    } finally {
      admin.disconnect();
      await proc.stop();
    }
  });
});
