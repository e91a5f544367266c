import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

// src/redis/scripts.ts and dist/redis/scripts.js both sit two levels below the package root.
const SCRIPTS_DIR = new URL('../../src/redis/scripts/', import.meta.url);

const SCRIPTS = {
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  issueReserve: { file: 'issue-reserve.lua', keys: 3 },
  ackEntries: { file: 'ack-entries.lua', keys: 1 },
  loadCoupon: { file: 'load-coupon.lua', keys: 3 },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
export type ScriptedRedis = Redis & Record<ScriptName, ScriptFn>;

/** Registers every script once per client; ioredis then calls them by SHA (EVALSHA, falling back to EVAL). */
export function defineScripts(redis: Redis): ScriptedRedis {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    if (name in redis) continue;
    redis.defineCommand(name, { numberOfKeys: s.keys, lua: readFileSync(new URL(s.file, SCRIPTS_DIR), 'utf8') });
  }
  return redis as ScriptedRedis;
}
