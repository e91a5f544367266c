import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PEM, SECRET } from './keys.js';

/** AUTH_MODE=jwt with an admin token, plus what a case changes. */
const jwt = (more: Record<string, string>) => ({ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', ...more });

/** A variable with a value it refuses: the message must name the variable. */
const oneBadVariable = ([
  ['PORT', 'eighty'], ['PORT', '70000'], ['ISSUE_STRATEGY', 'optimistic'], ['MYSQL_URL', 'postgres://x/y'],
  ['MYSQL_URL', 'mysql://root@h:3306/bad-name'], ['REDIS_URL', 'not a url'], ['RATE_LIMIT_PER_USER', '-1'],
  ['RATE_LIMIT_PER_IP', 'many'], ['TRUST_PROXY', 'yes please'], ['TRUST_PROXY', '10.0.0.0/33'],
  ['REQUEST_TIMEOUT_MS', '60000'], ['MAX_CONNECTIONS', '0'], ['API_WORKERS', '0'], ['API_WORKERS', 'all'],
  ['API_WORKERS', '1.5'], ['API_WORKERS', '257'], ['SOLD_OUT_CACHE_WINNERS', '-1'], ['REDIS_CLUSTER_NODES', '127.0.0.1'],
  ['REDIS_CLUSTER_NODES', 'a:1,,b:2'], ['REDIS_CLUSTER_NODES', 'redis://a:1'],
] as const).map(([name, value]): [Record<string, string>, RegExp] => [{ [name]: value }, new RegExp(name)]);

describe('loadConfig', () => {
  it('has defaults that reach the local services', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mysqlUrl: 'mysql://root@127.0.0.1:3306/coupon', mysqlDatabase: 'coupon', redisUrl: 'redis://127.0.0.1:6379',
      port: 8080, issueStrategy: 'mysql-atomic', adminToken: undefined, soldOutCacheWinners: 2_000_000, redisClusterNodes: null,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('reads a Redis Cluster\'s seed nodes', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-b:7001' }).redisClusterNodes).toEqual(['10.0.0.1:7000', 'redis-b:7001']);
  });
  it.each([
    ...oneBadVariable,
    // Identity, limits and server limits (security-config.ts).
    [{ AUTH_MODE: 'oauth' }, /AUTH_MODE/],
    [jwt({}), /AUTH_MODE: jwt needs JWT_SECRET/],
    [{ AUTH_MODE: 'jwt', JWT_SECRET: SECRET }, /ADMIN_TOKEN/],
    [jwt({ JWT_SECRET: 'short' }), /JWT_SECRET/],
    [jwt({ JWT_PUBLIC_KEY: '/no/such/key.pem' }), /JWT_PUBLIC_KEY.*readable/],
    [jwt({ JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }), /JWT_PUBLIC_KEY: not a PEM/],
    [jwt({ JWT_PUBLIC_KEY: PEM.ed25519 }), /only RSA/],
    [jwt({ JWT_SECRET: SECRET, JWT_ALGORITHM: 'HS512' }), /JWT_ALGORITHM/],
    [jwt({ JWT_SECRET: SECRET, JWT_ALGORITHM: 'RS256' }), /JWT_ALGORITHM/],
    [jwt({ JWT_PUBLIC_KEY: PEM.rsa, JWT_ALGORITHM: 'ES256' }), /JWT_ALGORITHM/],
    [jwt({ JWT_PUBLIC_KEY: PEM.rsa, JWT_SECRET: SECRET }), /not both/],
  ])('rejects %j with a one-line message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
    expect(() => loadConfig(env)).not.toThrow(/\n/);
  });
  it('reads API_WORKERS: 1 by default, a count, or auto (one per core)', () => {
    expect(loadConfig({}).apiWorkers).toBe(1);
    expect(loadConfig({ API_WORKERS: '3' }).apiWorkers).toBe(3);
    expect(loadConfig({ API_WORKERS: 'auto' }).apiWorkers).toBe(availableParallelism());
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
  });
});
