import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, trackChild } from './service-processes.js';

export interface RedisServer {
  readonly url: string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * A redis-server of the caller's own on a free port (the machine's `redis-server`), in a fresh
 * temp folder (`--dir`) so its RDB or AOF files never land in the working directory. `args` come
 * after ours and may override them, e.g. `['--save', '', '--appendonly', 'yes']`.
 */
export async function startRedisServer(args: readonly string[]): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'coupon-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore' });
  let spawnError: Error | undefined;
  child.on('error', (err) => { spawnError = err; }); // e.g. no redis-server installed
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (spawnError === undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  trackChild(stop, exited);
  for (let i = 0; i < 100 && child.exitCode === null && spawnError === undefined; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens: expected here
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { url, stop: () => stop() };
    } catch {
      probe.disconnect();
      await sleep(50);
    }
  }
  await stop('SIGKILL');
  throw new Error(`redis-server ${args.join(' ')} did not start on port ${port}${spawnError ? `: ${spawnError.message}` : ''}`);
}
