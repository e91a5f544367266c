import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { childPids } from '../harness/service-processes.js';

/**
 * CPU time of the processes a bench row runs on, read from /proc/<pid>/stat (utime + stime):
 * unlike requests/s on a shared machine, CPU per request holds still from one run to the next.
 * Linux only: elsewhere every reading is null and the report prints "-".
 */

export const CPU_COMPONENTS = ['api', 'redis', 'mysql', 'consumer'] as const;
export type CpuComponent = (typeof CPU_COMPONENTS)[number];

/**
 * What to read for a component at each sample: the /proc stat files of its processes or threads, found
 * anew each time (a worker restarted, a connection opened); undefined when it cannot be read here.
 */
export type CpuTarget = () => Promise<CpuFiles | undefined>;

export interface CpuFiles {
  /** The stat files whose CPU counts. */
  readonly counted: readonly string[];
  /**
   * Read as well but not counted: a thread that becomes counted later (MariaDB hands a cached thread to a
   * new connection) then counts from the sample before, not its whole life since the server started.
   */
  readonly others?: readonly string[];
}
export type CpuTargets = Readonly<Record<CpuComponent, CpuTarget>>;

/** µs of CPU per component, null where its processes cannot be read. */
export type CpuUs = Readonly<Record<CpuComponent, number | null>>;

let ticksPerSec: number | undefined;
function clockTicks(): number {
  if (ticksPerSec === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    ticksPerSec = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerSec;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** utime + stime in clock ticks from a stat file; undefined when its process or thread is gone (or there is no /proc). */
function ticksOf(statFile: string): number | undefined {
  const stat = readText(statFile);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed,
  // starting at field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The pid and every live descendant of it (e.g. node:cluster workers). */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childPids(tree[i]!));
  return tree;
}

/** Processes and their descendants (cluster workers): each one's whole CPU, all its threads. */
export function processTrees(roots: readonly number[]): CpuTarget {
  return () => Promise.resolve(roots.length === 0 || !roots.every((r) => readText(`/proc/${r}/stat`) !== undefined)
    ? undefined
    : { counted: roots.flatMap(processTree).map((pid) => `/proc/${pid}/stat`) });
}

/** Some threads of one process (a MariaDB connection's thread): each thread's own CPU. */
export function threadsOf(pid: number | undefined, tids: () => Promise<readonly number[]>): CpuTarget {
  return async () => {
    if (pid === undefined) return undefined;
    const file = (tid: number | string) => `/proc/${pid}/task/${tid}/stat`;
    return { counted: (await tids()).map(file), others: readDir(`/proc/${pid}/task`).map(file) };
  };
}

interface ComponentSample {
  readonly ticks: Map<string, number>;
  readonly counted: readonly string[];
}

export interface CpuSample {
  readonly of: Readonly<Record<CpuComponent, ComponentSample | null>>;
}

export async function sampleCpu(targets: CpuTargets): Promise<CpuSample> {
  const read = async (c: CpuComponent): Promise<ComponentSample | null> => {
    const files = await targets[c]();
    if (files === undefined) return null;
    const ticks = new Map<string, number>();
    for (const file of [...files.counted, ...(files.others ?? [])]) {
      const t = ticksOf(file);
      if (t !== undefined) ticks.set(file, t);
    }
    return { ticks, counted: files.counted };
  };
  const of = Object.fromEntries(await Promise.all(CPU_COMPONENTS.map(async (c) => [c, await read(c)] as const))) as CpuSample['of'];
  return { of };
}

/**
 * µs of CPU each component used between two samples. A process or thread seen in both counts its
 * difference; one born in between (a restarted worker, a new connection) counts whole; one gone by the end is lost.
 */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuUs {
  const usPerTick = 1e6 / clockTicks();
  const used = (c: CpuComponent): number | null => {
    const a = before.of[c];
    const b = after.of[c];
    if (a === null || b === null) return null;
    let ticks = 0;
    for (const file of b.counted) {
      const t = b.ticks.get(file);
      if (t !== undefined) ticks += t - (a.ticks.get(file) ?? 0);
    }
    return ticks * usPerTick;
  };
  return Object.fromEntries(CPU_COMPONENTS.map((c) => [c, used(c)])) as CpuUs;
}

/** The pid only when it runs here as a process named like one of `names` (a remote server's pid means nothing). */
export function localPid(pid: number | undefined, names: readonly string[]): number | undefined {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return undefined;
  const comm = readText(`/proc/${pid}/comm`)?.trim();
  return comm !== undefined && names.includes(comm) ? pid : undefined;
}

export const MYSQL_PROCESS_NAMES = ['mariadbd', 'mysqld'];
export const REDIS_PROCESS_NAMES = ['redis-server'];

/**
 * The server's pid from its pid file (`SELECT @@pid_file`) when it runs on this machine, else the one
 * process here named like it (none or several: unknown).
 */
export function serverPid(pidFile: string | undefined, names: readonly string[]): number | undefined {
  const fromFile = pidFile === undefined ? undefined : localPid(Number(readText(pidFile)?.trim()), names);
  if (fromFile !== undefined) return fromFile;
  const pids = readDir('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => localPid(pid, names) !== undefined);
  return pids.length === 1 ? pids[0] : undefined;
}

/** Redis's pid from `INFO server`. */
export function redisPidOf(info: string): number | undefined {
  const m = /^process_id:(\d+)/m.exec(info);
  return m ? Number(m[1]) : undefined;
}
