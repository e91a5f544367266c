import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./fsync-tracker.c', import.meta.url));

/** Builds the fsync tracker (gcc, on every machine of ours) into `dir`; returns the .so for LD_PRELOAD. */
export function buildFsyncTracker(dir: string): string {
  const lib = join(dir, 'fsync-tracker.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE, '-ldl']);
  return lib;
}

/** The size each file had at its last successful fsync, from the tracker's log. */
function lastSynced(log: string): Map<string, number> {
  const sizes = new Map<string, number>();
  if (!existsSync(log)) return sizes;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const path = line.slice(space + 1);
    sizes.set(path, Math.max(sizes.get(path) ?? 0, Number(line.slice(0, space))));
  }
  return sizes;
}

function incrementalAofs(redisDir: string): string[] {
  const dir = join(redisDir, 'appendonlydir');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.incr.aof')).map((f) => realpathSync(join(dir, f))) : [];
}

/** Bytes Redis has written to its append-only files that no fsync has covered yet: what a power loss now would take. */
export function unsyncedBytes(redisDir: string, log: string): number {
  const synced = lastSynced(log);
  return incrementalAofs(redisDir).reduce((sum, f) => sum + Math.max(0, statSync(f).size - (synced.get(f) ?? 0)), 0);
}

/**
 * Call after SIGKILL, before the restart: cuts each incremental append-only file back to what its last
 * fsync covered. Base files and the manifest are written and fsynced before Redis uses them. Returns the bytes cut.
 */
export function cutToLastFsync(redisDir: string, log: string): number {
  const synced = lastSynced(log);
  let cut = 0;
  for (const f of incrementalAofs(redisDir)) {
    const keep = synced.get(f) ?? 0;
    const size = statSync(f).size;
    if (size > keep) {
      truncateSync(f, keep);
      cut += size - keep;
    }
  }
  return cut;
}
