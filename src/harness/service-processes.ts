import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseWorkerCount } from '../config.js';

// dist/harness/ (or src/harness/ under vitest) -> bin/coupon.js: children run exactly what `npx coupon` runs.
const BIN = fileURLToPath(new URL('../../bin/coupon.js', import.meta.url));

/** How long a stopped process may take to exit before it gets SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** How to stop every child still running, including one whose start has not returned yet. */
const live = new Set<() => Promise<unknown>>();
let stoppingAll = false;

/** Registers a child's stop until the child exits; after stopAllChildren(), stops it at once. */
export function trackChild(stop: () => Promise<unknown>, exited: Promise<unknown>): void {
  if (stoppingAll) {
    void stop();
    return;
  }
  live.add(stop);
  void exited.finally(() => live.delete(stop));
}

/** For a signal handler about to exit: nothing this process started, or starts from now on, may outlive it. */
export async function stopAllChildren(): Promise<void> {
  stoppingAll = true;
  await Promise.allSettled([...live].map((stop) => stop()));
}

export interface SpawnOptions {
  /** Names the process in errors and its log file; defaults to the first argument. */
  readonly name?: string;
  /** Send stdout and stderr to <logDir>/<name>.log instead of keeping them in memory. */
  readonly logDir?: string;
  /** Node options placed before the script, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Another Node script to run instead of the coupon CLI (the bench's baseline server). */
  readonly script?: string;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Where its output goes with `logDir`; undefined when kept in memory. */
  readonly logFile: string | undefined;
  /** What it printed, when kept in memory ('' with a log file). */
  output(): string;
  /** Resolves with the exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` (SIGTERM by default; SIGCONT first, so a paused process can handle it), SIGKILL after a grace period. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** SIGSTOP / SIGCONT: e.g. holds a consumer while a backlog builds. */
  pause(): void;
  resume(): void;
}

/** Runs the built `coupon` CLI (or `opts.script`) with the environment plus `env`; `npm run build` must come first. */
export function spawnCli(args: readonly string[], env: Readonly<Record<string, string>>, opts: SpawnOptions = {}): ServiceProcess {
  const name = opts.name ?? args[0] ?? 'coupon';
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script ?? BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let logFile: string | undefined;
  if (opts.logDir === undefined) {
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  } else {
    mkdirSync(opts.logDir, { recursive: true });
    logFile = join(opts.logDir, `${name}.log`);
    const log = createWriteStream(logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!running()) return exited;
    child.kill('SIGCONT');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  trackChild(stop, exited);
  return {
    name,
    child,
    logFile,
    output: () => out,
    exited,
    stop,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}

/** Where to look when a process failed: its log file, or what it printed. */
function whatItSaid(proc: ServiceProcess): string {
  return proc.logFile ? `; see ${proc.logFile}` : `:\n${proc.output()}`;
}

/**
 * The processes `pid` started that are still running (Linux's /proc; [] elsewhere or once it is gone):
 * under API_WORKERS > 1 the API's pid is its primary's, and these are its workers.
 */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Waits until GET /health answers 200 (for the API: MySQL and Redis reachable), or the process dies. */
export async function waitForHealthy(baseUrl: string, proc?: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}${whatItSaid(proc)}`);
    try {
      const res = await fetch(new URL('/health', baseUrl), { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${proc?.name ?? baseUrl} did not become healthy within ${timeoutMs} ms${proc ? whatItSaid(proc) : ''}`);
}

export interface HttpProcess extends ServiceProcess {
  readonly url: string;
}

/** GET /health on a connection of its own (a kept-alive one stays with one worker): the pid that answered. */
function pidOnNewConnection(url: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = get(new URL('/health', url), { agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    });
    req.on('timeout', () => req.destroy(new Error('no answer'))).on('error', reject);
  });
}

/**
 * Asks on new connections, which the primary deals round the workers, until `n` distinct processes
 * have answered (each is then listening); returns their pids, sorted.
 */
export async function answeringPids(url: string, n: number, proc?: ServiceProcess, timeoutMs = 30_000): Promise<number[]> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < n) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}${whatItSaid(proc)}`);
    if (Date.now() > deadline) throw new Error(`${n} workers did not answer within ${timeoutMs} ms (seen: ${[...seen].join(', ')})`);
    // A connection handed to a worker killed a moment ago is lost with it: ask again.
    await pidOnNewConnection(url).then((pid) => seen.add(pid), () => sleep(50));
  }
  return [...seen].sort();
}

/**
 * Starts an HTTP service (`coupon api` by default) on a free loopback port and waits until /health
 * answers 200, from every worker when `env` sets API_WORKERS: a measure must not start with half of them.
 */
export async function startHttpProcess(env: Readonly<Record<string, string>>, opts: SpawnOptions & { readonly args?: readonly string[] } = {}): Promise<HttpProcess> {
  const port = await freePort();
  const proc = spawnCli(opts.args ?? ['api'], { ...env, PORT: String(port), HOST: '127.0.0.1' }, opts);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(url, proc);
    const workers = parseWorkerCount(env.API_WORKERS ?? '1') ?? 1;
    if (workers > 1) await answeringPids(url, workers, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { ...proc, url };
}

/** `coupon consumer` has no port: it is up when it has not died within a short settle time. */
export async function startConsumerProcess(env: Readonly<Record<string, string>>, opts: SpawnOptions = {}): Promise<ServiceProcess> {
  const proc = spawnCli(['consumer'], env, opts);
  await sleep(500);
  if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}${whatItSaid(proc)}`);
  return proc;
}

export interface LogDir {
  readonly path: string;
  /** Removes the folder unless `keep`; returns its path when kept and there is something in it. */
  release(keep: boolean): Promise<string | undefined>;
}

/** A folder under the system's temp dir for one run's service logs, gone afterwards unless kept. */
export function createLogDir(prefix: string, id = randomBytes(4).toString('hex')): LogDir {
  const path = join(tmpdir(), `${prefix}${id}`);
  return {
    path,
    async release(keep) {
      if (keep) return existsSync(path) ? path : undefined;
      await rm(path, { recursive: true, force: true });
      return undefined;
    },
  };
}
