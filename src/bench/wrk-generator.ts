import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { round, type LoadPhase, type LoadResult } from './load-result.js';

// Beside this module in src/ and, copied by the build, in dist/.
const SCRIPT = fileURLToPath(new URL('./wrk-load.lua', import.meta.url));
const MARKER = 'BENCH_JSON ';

interface WrkSummary {
  requests: number;
  durationUs: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  responses: Record<string, number>;
}

let available: boolean | undefined;
export function wrkAvailable(): boolean {
  available ??= spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
  return available;
}

export interface WrkOptions {
  readonly threads: number;
  /** Off for the generator check: wrk is then as light as it gets (no body parsing in Lua). */
  readonly countResponses: boolean;
}

/** Closed model through wrk (the Debian package); its Lua script makes the bodies and counts the answers. */
export async function runWrk(phase: LoadPhase, opts: WrkOptions): Promise<LoadResult> {
  const args = [
    `-t${opts.threads}`, `-c${Math.max(phase.connections, opts.threads)}`, `-d${phase.durationSec}s`, '--timeout', '10s',
    '-s', SCRIPT, phase.url, '--',
    phase.spec.path, phase.spec.couponIds.join(','), String(phase.spec.users), String(phase.spec.repeatShare),
    opts.countResponses ? '1' : '0', String(opts.threads), phase.spec.tokenFile ?? '', String(phase.spec.freshFrom ?? 0),
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk exited ${code}: ${stderr.trim() || stdout.trim()}`))));
  });
  const line = out.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const s = JSON.parse(line.slice(MARKER.length)) as WrkSummary;
  const durationSec = s.durationUs / 1e6;
  const ms = (us: number) => round(us / 1000, 2);
  return {
    generator: 'wrk',
    durationSec,
    // Without counting, wrk only knows how many answers came back, not which.
    responses: opts.countResponses ? s.responses : { other: s.requests },
    requestsPerSec: round(s.requests / durationSec, 0),
    latencyMs: { p50: ms(s.latencyUs.p50), p90: ms(s.latencyUs.p90), p99: ms(s.latencyUs.p99), max: ms(s.latencyUs.max) },
    errors: s.errors,
  };
}
