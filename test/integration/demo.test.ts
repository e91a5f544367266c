import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../../src/harness/service-processes.js';
import { waitUntil } from '../helpers/drain.js';

const demoLogDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('coupon-demo-')));

async function databaseExists(name: string): Promise<boolean> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  try {
    const [rows] = await conn.query('SHOW DATABASES LIKE ?', [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await conn.end();
  }
}

/** Each run on its own database and key prefix; the demo is told which (--database). */
function demoArgs(extra: string[] = []) {
  const id = randomBytes(4).toString('hex');
  const database = `fcfs_test_demo_${id}`;
  return {
    database,
    args: ['demo', '--quantity', '20', '--requests', '300', '--connections', '8', '--database', database, ...extra],
    env: { REDIS_KEY_PREFIX: `test:${id}:`, LOG_LEVEL: 'warn' },
  };
}

describe('coupon demo', () => {
  it('says what its figures are, and leaves neither its database nor its logs behind', async () => {
    const before = demoLogDirs();
    const { database, args, env } = demoArgs();
    const p = spawnCli(args, env);
    expect(await p.exited, p.output()).toBe(0);
    const out = p.output();
    expect(out).toContain('exactly 20 of 20');
    expect(out).toContain('not a throughput figure');
    expect(out).toMatch(/0 users hold more than one coupon/);
    expect(await databaseExists(database)).toBe(false);
    expect([...demoLogDirs()].filter((d) => !before.has(d))).toEqual([]);
  });

  it('--serve keeps the service up with the event page until Ctrl-C, then cleans up', async () => {
    const { database, args, env } = demoArgs(['--serve']);
    const p = spawnCli(args, env);
    try {
      await waitUntil('the page address', async () => /watch it: \S+/.test(p.output()) || p.child.exitCode !== null, 60_000);
      const url = /watch it: (\S+)/.exec(p.output())?.[1];
      expect(url, p.output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/events\/\d+$/);
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('id="issued"');
      expect(await databaseExists(database)).toBe(true);
      p.child.kill('SIGINT');
      expect(await p.exited, p.output()).toBe(0);
      expect(await databaseExists(database)).toBe(false);
      await expect(fetch(url!)).rejects.toThrow();
    } finally {
      await p.stop();
    }
  });
});
