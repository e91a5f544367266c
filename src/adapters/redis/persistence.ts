import { nodesOf, type Redis, type RedisNode } from './client.js';

/**
 * What an accepted reservation (a 202) survives, given how Redis persists it:
 * - power-loss: append-only file fsynced before every reply (appendfsync always);
 * - process-crash: append-only file written to the kernel before the reply, fsynced later (everysec, no);
 *   a crash of the machine loses what the kernel had not yet written;
 * - nothing: no append-only file; a restart keeps at best an older snapshot;
 * - unknown: the settings could not be read.
 */
export const Survives = { POWER_LOSS: 'power-loss', PROCESS_CRASH: 'process-crash', NOTHING: 'nothing', UNKNOWN: 'unknown' } as const;
export type Survives = (typeof Survives)[keyof typeof Survives];

const RANK: Record<Survives, number> = { unknown: 0, nothing: 0, 'process-crash': 1, 'power-loss': 2 };

/** True when `actual` is at least as durable as `required` (unknown proves nothing). */
export function survivesAtLeast(actual: Survives, required: Survives): boolean {
  return RANK[actual] >= RANK[required];
}

export type AppendFsync = 'always' | 'everysec' | 'no';

export interface RedisPersistence {
  /** null when unreadable. */
  readonly appendonly: boolean | null;
  /** null when unreadable (INFO does not tell it) or when appendonly is off. */
  readonly appendfsync: AppendFsync | null;
  /** Where the settings came from: CONFIG GET, INFO persistence (CONFIG renamed or denied), or neither. */
  readonly source: 'CONFIG' | 'INFO' | 'none';
  readonly survives: Survives;
  /** One line for the log: the settings and what a 202 survives under them. */
  readonly summary: string;
}

function judge(appendonly: boolean | null, appendfsync: AppendFsync | null, source: RedisPersistence['source'], why = ''): RedisPersistence {
  const settings = appendonly === null ? `unreadable${why}`
    : `appendonly ${appendonly ? 'yes' : 'no'}${appendonly ? `, appendfsync ${appendfsync ?? 'unknown (INFO does not tell it)'}` : ''}`;
  let survives: Survives;
  let meaning: string;
  if (appendonly === null) {
    survives = Survives.UNKNOWN;
    meaning = 'what a 202 survives is unknown';
  } else if (!appendonly) {
    survives = Survives.NOTHING;
    meaning = 'a 202 survives nothing: a Redis crash or restart loses every reservation not yet in MySQL';
  } else if (appendfsync === 'always') {
    survives = Survives.POWER_LOSS;
    meaning = 'a 202 survives a Redis crash and a power loss (fsynced before the reply)';
  } else {
    survives = Survives.PROCESS_CRASH;
    // everysec: Redis's documented window is one second, two when a slow fsync postpones the write.
    const window = appendfsync === 'everysec' ? 'about the last second of' : 'whatever the kernel had not yet written of';
    meaning = `a 202 survives a Redis process crash; a power loss or kernel crash may lose ${window} them`;
  }
  return { appendonly, appendfsync: appendonly ? appendfsync : null, source, survives, summary: `redis persistence: ${settings}: ${meaning}` };
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Reads Redis's persistence settings: CONFIG GET, or INFO persistence where CONFIG is renamed or
 * denied. On a cluster, every master's, and a 202 survives what the weakest of them survives.
 */
export async function readRedisPersistence(redis: Redis): Promise<RedisPersistence> {
  if (!redis.isCluster) return readNodePersistence(redis as RedisNode);
  const masters = await nodesOf(redis);
  const each = await Promise.all(masters.map(readNodePersistence));
  let weakest = 0;
  each.forEach((p, i) => { if (RANK[p.survives] < RANK[each[weakest]!.survives]) weakest = i; });
  const p = each[weakest];
  if (!p) return judge(null, null, 'none', ' (no cluster master known yet)');
  const node = masters[weakest]!.options;
  return { ...p, summary: `${p.summary} (the weakest of ${masters.length} cluster masters: ${node.host ?? ''}:${node.port ?? ''})` };
}

async function readNodePersistence(redis: RedisNode): Promise<RedisPersistence> {
  let configError: string;
  try {
    const flat = (await redis.call('CONFIG', 'GET', 'appendonly', 'appendfsync')) as string[];
    const get = (k: string) => flat[flat.indexOf(k) + 1];
    const fsync = get('appendfsync');
    return judge(get('appendonly') === 'yes', fsync === 'always' || fsync === 'everysec' || fsync === 'no' ? fsync : null, 'CONFIG');
  } catch (err) {
    configError = (err as Error).message;
    if (!/unknown command|NOPERM|no permissions/i.test(configError)) throw err; // Redis away: the caller decides
  }
  try {
    const aof = infoField(await redis.info('persistence'), 'aof_enabled');
    if (aof === '1' || aof === '0') return judge(aof === '1', null, 'INFO');
    return judge(null, null, 'none', ' (INFO persistence has no aof_enabled)');
  } catch (err) {
    if (!/unknown command|NOPERM|no permissions/i.test((err as Error).message)) throw err;
    return judge(null, null, 'none', ` (CONFIG: ${configError}; INFO: ${(err as Error).message})`);
  }
}

/** Re-reads the settings at most every `maxAgeMs` (they can change at run time: CONFIG SET, a failover). */
export function persistenceMonitor(redis: Redis, maxAgeMs = 5000): { read(): Promise<RedisPersistence> } {
  let last: { at: number; value: RedisPersistence } | undefined;
  return {
    async read() {
      if (last && Date.now() - last.at < maxAgeMs) return last.value;
      const value = await readRedisPersistence(redis);
      last = { at: Date.now(), value };
      return value;
    },
  };
}
