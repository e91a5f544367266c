import { ConfigError } from '../../config.js';
import type { Deps } from '../../deps.js';
import { readRedisPersistence, survivesAtLeast, type RedisPersistence } from '../../adapters/redis/persistence.js';

/**
 * Reads what a 202 survives under Redis's persistence settings and says it in one log line. With
 * REQUIRE_DURABLE_REDIS set and not met, refuses to start (a ConfigError: one line, exit 2): an API
 * that cannot keep its promise should not make it. Null when Redis did not answer (nothing required).
 */
export async function checkRedisDurability(deps: Deps): Promise<RedisPersistence | null> {
  const required = deps.config.requireDurableRedis;
  let persistence: RedisPersistence;
  try {
    persistence = await readRedisPersistence(deps.redis);
  } catch (err) {
    if (required) throw new Error(`REQUIRE_DURABLE_REDIS: cannot read Redis's persistence settings: ${(err as Error).message}`, { cause: err });
    deps.log.warn({ err: (err as Error).message }, 'redis persistence unknown at start (redis did not answer); /health reports it once it does');
    return null;
  }
  if (required && !survivesAtLeast(persistence.survives, required)) {
    throw new ConfigError(`REQUIRE_DURABLE_REDIS requires a 202 to survive ${required === 'power-loss' ? 'a power loss' : 'a Redis crash'}; refusing to start: ${persistence.summary}`);
  }
  const { appendonly, appendfsync, survives, source } = persistence;
  const level = survives === 'power-loss' || survives === 'process-crash' ? 'info' : 'warn';
  deps.log[level]({ appendonly, appendfsync, survives, source }, persistence.summary);
  return persistence;
}
