import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cpuBetween, localPid, MYSQL_PROCESS_NAMES, processTree, processTrees, REDIS_PROCESS_NAMES, redisPidOf, sampleCpu, serverPid, threadsOf,
} from '../../src/bench/process-cpu.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// A parent that forks a worker spinning on the CPU, like node:cluster's primary and its workers:
// the parent itself stays idle, so the CPU counted for it can only come from its descendant.
const PARENT = `
const w = require('node:child_process').spawn(process.execPath, ['-e', 'console.log(process.pid); for (;;) {}'], { stdio: 'inherit' });
process.on('SIGTERM', () => { w.kill('SIGKILL'); process.exit(0); });
`;

const NONE = { api: processTrees([]), redis: processTrees([]), mysql: processTrees([]), consumer: processTrees([]) };
/** utime + stime of a process or thread, from the stat file's fields after the command name. */
const ticksIn = (statFile: string) => {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

describe.runIf(process.platform === 'linux')('CPU per component, read from /proc', () => {
  const redis = new Redis(REDIS_URL);
  afterAll(() => redis.disconnect());

  it('counts the CPU of a process\'s descendants with it, and nothing for a process that is not there', async () => {
    const parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const worker = Number(line.toString().trim());
      expect(processTree(parent.pid!)).toContain(worker);
      const targets = { ...NONE, api: processTrees([parent.pid!]) };
      const before = await sampleCpu(targets);
      // Until the worker has used two clock ticks more: no time is asserted, only where it is counted.
      const start = ticksIn(`/proc/${worker}/stat`);
      while (ticksIn(`/proc/${worker}/stat`) < start + 2) await new Promise((r) => setTimeout(r, 20));
      const used = cpuBetween(before, await sampleCpu(targets));
      // At least the worker's 2 ticks since `start` (CLK_TCK = 100: 10,000 µs a tick), which the idle parent alone has not used.
      expect(used.api).toBeGreaterThanOrEqual(20_000);
      expect(used.redis).toBeNull();
    } finally {
      parent.kill('SIGTERM');
      await once(parent, 'exit');
    }
    const gone = { ...NONE, consumer: processTrees([parent.pid!]) };
    expect(cpuBetween(await sampleCpu(gone), await sampleCpu(gone)).consumer).toBeNull();
  });

  it('finds the local Redis from INFO and MariaDB from its pid file, counts one MariaDB connection\'s thread alone, and refuses a pid that is not theirs', async () => {
    const redisPid = localPid(redisPidOf(await redis.info('server')), REDIS_PROCESS_NAMES);
    expect(readFileSync(`/proc/${redisPid}/comm`, 'utf8').trim()).toBe('redis-server');
    const server = MYSQL_URL.replace(/\/[^/]*$/, '/');
    const [busy, idle] = [await mysql.createConnection(server), await mysql.createConnection(server)];
    try {
      const [rows] = await busy.query<mysql.RowDataPacket[]>('SELECT @@pid_file AS pidFile');
      const mysqlPid = serverPid(rows[0]!['pidFile'] as string, MYSQL_PROCESS_NAMES);
      expect(MYSQL_PROCESS_NAMES).toContain(readFileSync(`/proc/${mysqlPid}/comm`, 'utf8').trim());
      // Each connection is served by a thread of its own: only the busy one's thread counts the busy one's work.
      const tidOf = async (c: mysql.Connection) => Number((await c.query<mysql.RowDataPacket[]>('SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()'))[0][0]!['tid']);
      const [busyTid, idleTid] = [await tidOf(busy), await tidOf(idle)];
      const busyTicks = () => ticksIn(`/proc/${mysqlPid}/task/${busyTid}/stat`);
      const burn = async () => {
        const start = busyTicks();
        while (busyTicks() < start + 2) await busy.query("SELECT BENCHMARK(200000, MD5('cpu'))");
      };
      await burn(); // work done before the first sample, which must not count
      // `redis` stands for a thread that turns into one of the run's between the samples (a cached thread given a new connection).
      let joined = false;
      const targets = {
        ...NONE, mysql: threadsOf(mysqlPid, async () => [busyTid]), consumer: threadsOf(mysqlPid, async () => [idleTid]),
        redis: threadsOf(mysqlPid, async () => (joined ? [busyTid] : [])),
      };
      const before = await sampleCpu(targets);
      await burn();
      joined = true;
      const used = cpuBetween(before, await sampleCpu(targets));
      expect(used.mysql).toBeGreaterThanOrEqual(20_000);
      expect(used.consumer).toBe(0);
      expect(used.redis).toBe(used.mysql);
      expect(await threadsOf(undefined, async () => [busyTid])()).toBeUndefined();
    } finally {
      await Promise.all([busy.end(), idle.end()]);
    }
    expect(localPid(process.pid, REDIS_PROCESS_NAMES)).toBeUndefined();
    expect(serverPid('/nonexistent.pid', ['no-such-process-name'])).toBeUndefined();
  });
});
