import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PEM, SECRET } from './keys.js';

describe('loadConfig', () => {
  it('has defaults that reach the local services', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mysqlUrl: 'mysql://root@127.0.0.1:3306/coupon', mysqlDatabase: 'coupon', redisUrl: 'redis://127.0.0.1:6379',
      port: 8080, issueStrategy: 'mysql-atomic', adminToken: undefined,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ ISSUE_STRATEGY: 'optimistic' }, /ISSUE_STRATEGY/],
    [{ MYSQL_URL: 'postgres://x/y' }, /MYSQL_URL/],
    [{ MYSQL_URL: 'mysql://root@h:3306/bad-name' }, /MYSQL_URL/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL/],
    // Identity, limits and server limits (security-config.ts).
    [{ AUTH_MODE: 'oauth' }, /AUTH_MODE/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x' }, /AUTH_MODE: jwt needs JWT_SECRET/],
    [{ AUTH_MODE: 'jwt', JWT_SECRET: SECRET }, /ADMIN_TOKEN/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_SECRET: 'short' }, /JWT_SECRET/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_PUBLIC_KEY: '/no/such/key.pem' }, /JWT_PUBLIC_KEY.*readable/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, /JWT_PUBLIC_KEY: not a PEM/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_PUBLIC_KEY: PEM.ed25519 }, /only RSA/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_SECRET: SECRET, JWT_ALGORITHM: 'HS512' }, /JWT_ALGORITHM/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_SECRET: SECRET, JWT_ALGORITHM: 'RS256' }, /JWT_ALGORITHM/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_PUBLIC_KEY: PEM.rsa, JWT_ALGORITHM: 'ES256' }, /JWT_ALGORITHM/],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', JWT_PUBLIC_KEY: PEM.rsa, JWT_SECRET: SECRET }, /not both/],
    [{ RATE_LIMIT_PER_USER: '-1' }, /RATE_LIMIT_PER_USER/],
    [{ RATE_LIMIT_PER_IP: 'many' }, /RATE_LIMIT_PER_IP/],
    [{ TRUST_PROXY: 'yes please' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ REQUEST_TIMEOUT_MS: '60000' }, /REQUEST_TIMEOUT_MS/],
    [{ MAX_CONNECTIONS: '0' }, /MAX_CONNECTIONS/],
  ])('rejects %j with a one-line message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
    expect(() => loadConfig(env)).not.toThrow(/\n/);
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
  });
});
