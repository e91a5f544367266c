import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { spawnCli, startHttpProcess } from '../../src/harness/service-processes.js';
import { createTestEnv } from '../helpers/test-env.js';

describe('coupon CLI', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ ISSUE_STRATEGY: 'optimistic' }, 'ISSUE_STRATEGY'],
    [{ MYSQL_URL: 'http://nope' }, 'MYSQL_URL'],
    [{ API_WORKERS: 'many' }, 'API_WORKERS'],
    // In real use the admin endpoints must not be open, and a missing or broken key is the operator's to fix.
    [{ AUTH_MODE: 'jwt', JWT_SECRET: 'x'.repeat(32) }, 'ADMIN_TOKEN'],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 't' }, 'JWT_SECRET'],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 't', JWT_PUBLIC_KEY: '/no/such.pem' }, 'JWT_PUBLIC_KEY'],
    [{ AUTH_MODE: 'jwt', ADMIN_TOKEN: 't', JWT_SECRET: 'x'.repeat(32), JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM'],
  ])('exits 2 with a one-line message on bad configuration %j', async (env, name) => {
    const p = spawnCli(['api'], env);
    expect(await p.exited).toBe(2);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
  });

  it('migrate creates the database when missing and is idempotent', async () => {
    const db = `fcfs_test_cli_${randomBytes(4).toString('hex')}`;
    const env = { MYSQL_URL: `mysql://root@127.0.0.1:3306/${db}` };
    try {
      const first = spawnCli(['migrate'], env);
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain('applied 1');
      const second = spawnCli(['migrate'], env);
      expect(await second.exited).toBe(0);
      expect(second.output()).toContain('up to date');
      const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db });
      const [rows] = await conn.query("SHOW INDEX FROM coupon_issues WHERE Key_name = 'uk_coupon_issues_coupon_user'");
      await conn.end();
      expect((rows as unknown[]).length).toBe(2); // (coupon_id, user_id)
    } finally {
      const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
      await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
      await conn.end();
    }
  });

  it('api shuts down cleanly on SIGTERM', async () => {
    const t = await createTestEnv();
    try {
      const api = await startHttpProcess(t.env);
      expect(await api.stop('SIGTERM')).toBe(0);
    } finally {
      await t.destroy();
    }
  });
});
