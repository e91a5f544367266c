import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

// dist/bench/ -> bin/coupon.js: the children run exactly what `npx coupon` runs.
const BIN = fileURLToPath(new URL('../../bin/coupon.js', import.meta.url));

export interface ServiceEnv {
  readonly mysqlUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly logDir: string;
  /** Directory for --cpu-prof profiles of the api child; none when undefined. */
  readonly cpuProfDir: string | undefined;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: holds a consumer while a backlog builds, to time its drain alone. */
  pause(): void;
  resume(): void;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

function startChild(name: string, command: string, env: ServiceEnv, extra: Record<string, string>, nodeArgs: string[]): ServiceProcess {
  mkdirSync(env.logDir, { recursive: true });
  const logFile = join(env.logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, BIN, command], {
    env: {
      ...process.env,
      MYSQL_URL: env.mysqlUrl,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.redisKeyPrefix,
      LOG_LEVEL: 'warn',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = once(child, 'exit');
  return {
    name,
    child,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT'); // a held consumer must run to handle SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}

/** Waits until GET /health answers 200 (MySQL and Redis reachable) or the child dies. */
async function waitHealthy(url: string, proc: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    try {
      const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${proc.name} did not become healthy within ${timeoutMs} ms; see ${proc.logFile}`);
}

export interface ApiProcess extends ServiceProcess {
  readonly url: string;
}

export async function startApi(name: string, strategy: string, env: ServiceEnv): Promise<ApiProcess> {
  const port = await freePort();
  const nodeArgs = env.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${env.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const proc = startChild(name, 'api', env, {
    ISSUE_STRATEGY: strategy,
    PORT: String(port),
    HOST: '127.0.0.1',
    BENCH_BASELINE: '1',
  }, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { ...proc, url };
}

/** The consumer has no port; it is up when it has not died within a short settle time. */
export async function startConsumer(name: string, env: ServiceEnv): Promise<ServiceProcess> {
  const proc = startChild(name, 'consumer', env, {}, []);
  await sleep(500);
  if (proc.child.exitCode !== null) throw new Error(`${name} exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
  return proc;
}
