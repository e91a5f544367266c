import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createPool, type Pool } from './adapters/mysql/pool.js';
import { createRedis, type Redis } from './adapters/redis/client.js';
import { createKeys, type Keys } from './adapters/redis/keys.js';
import { createScripts, type Scripts } from './adapters/redis/scripts.js';

/** What every entry point (API, consumer, CLI commands) shares; plain objects, no web framework. */
export interface Deps {
  readonly config: Config;
  readonly db: Pool;
  readonly redis: Redis;
  readonly scripts: Scripts;
  readonly keys: Keys;
  readonly log: Logger;
  readonly now: () => Date;
  close(): Promise<void>;
}

export function createDeps(config: Config, name = 'fcfs-coupon'): Deps {
  const log = pino({ name, level: config.logLevel });
  const db = createPool(config.mysqlUrl, config.mysqlPoolSize);
  const redis = createRedis(config, name);
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const keys = createKeys(config.redisKeyPrefix);
  return {
    config,
    db,
    redis,
    scripts: createScripts(redis, keys),
    keys,
    log,
    now: () => new Date(),
    async close() {
      await Promise.allSettled([db.end(), redis.quit().catch(() => redis.disconnect())]);
    },
  };
}
