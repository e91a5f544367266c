import { isMysqlUnavailable } from './mysql/mysql-errors.js';
import { isRedisUnavailable } from './redis/redis-errors.js';

/**
 * True for faults of MySQL or Redis being out of reach (not of our code or data).
 * The API answers these with 503 and the consumer retries them forever instead of giving up.
 */
export function isStorageUnavailable(err: unknown): boolean {
  if (isMysqlUnavailable(err) || isRedisUnavailable(err)) return true;
  return err instanceof AggregateError && err.errors.some(isStorageUnavailable);
}
