import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Its working directory (where an append-only file lives), removed by stop(). */
  readonly dir: string;
  /** The running server's process id. */
  pid(): number;
  /** SIGKILL, as a crash or an out-of-memory kill would: no shutdown, no final save. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and directory, from whatever files it left. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Persistence settings as redis-server arguments; the default keeps nothing on disk. */
export const PERSISTENCE_OFF = ['--save', '', '--appendonly', 'no'] as const;
export const aofArgs = (fsync: 'always' | 'everysec' | 'no') => ['--save', '', '--appendonly', 'yes', '--appendfsync', fsync];

async function untilAnswering(url: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens: expected here
    try {
      await probe.connect();
      await probe.ping(); // LOADING while it replays its files: keep waiting
      probe.disconnect();
      return true;
    } catch {
      probe.disconnect();
      await sleep(50);
    }
  }
  return false;
}

/** A redis-server of this test's own, so it may FLUSHALL or be killed without touching other tests' keys. */
export async function startPrivateRedis(args: readonly string[] = PERSISTENCE_OFF, env: Record<string, string> = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fcfs-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore', env: { ...process.env, ...env } });
    if (!(await untilAnswering(url))) {
      child.kill('SIGKILL');
      throw new Error('private redis-server did not start');
    }
  };
  const exit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    url,
    port,
    dir,
    pid: () => child.pid!,
    kill9: () => exit('SIGKILL'),
    restart: start,
    async stop() {
      await exit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
