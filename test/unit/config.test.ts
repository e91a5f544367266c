import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

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
  ])('rejects %j with a one-line message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
  });
});
