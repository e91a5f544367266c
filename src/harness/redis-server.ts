import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, trackChild } from './service-processes.js';

/** Persistence settings as redis-server arguments. */
export const PERSISTENCE_OFF = ['--save', '', '--appendonly', 'no'] as const;
export const aofArgs = (fsync: 'always' | 'everysec' | 'no'): string[] => ['--save', '', '--appendonly', 'yes', '--appendfsync', fsync];

export interface RedisServer {
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
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

async function untilAnswering(url: string, alive: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && alive(); i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens: expected here
    try {
      await probe.connect();
      await probe.ping(); // LOADING while it replays its files: keep waiting
      return true;
    } catch {
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  return false;
}

/**
 * A redis-server of the caller's own on a free port (the machine's `redis-server`), in a fresh
 * temp folder (`--dir`) so its RDB or AOF files never land in the working directory, and so a
 * test may FLUSHALL it or kill it without touching anyone else's keys. `args` come after ours and
 * may override them, e.g. `aofArgs('always')`; `env` is added to its environment (LD_PRELOAD).
 */
export async function startRedisServer(args: readonly string[] = PERSISTENCE_OFF, env: Readonly<Record<string, string>> = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'coupon-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let spawnError: Error | undefined;
  let exited = Promise.resolve();
  const running = () => child !== undefined && spawnError === undefined && child.exitCode === null && child.signalCode === null;
  const exit = async (signal: NodeJS.Signals) => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore', env: { ...process.env, ...env } });
    child.on('error', (err) => { spawnError = err; }); // e.g. no redis-server installed
    const c = child;
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    if (!(await untilAnswering(url, () => spawnError === undefined && c.exitCode === null))) {
      await exit('SIGKILL');
      throw new Error(`redis-server ${args.join(' ')} did not start on port ${port}${spawnError ? `: ${spawnError.message}` : ''}`);
    }
  };
  let markStopped = () => {};
  const stopped = new Promise<void>((resolve) => { markStopped = resolve; });
  const stop = async () => {
    await exit('SIGTERM');
    await rm(dir, { recursive: true, force: true });
    markStopped();
  };
  // Tracked until stop(), not until the first exit: a test may kill9() and restart() it.
  trackChild(stop, stopped);
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, dir, pid: () => child!.pid!, kill9: () => exit('SIGKILL'), restart: start, stop };
}
