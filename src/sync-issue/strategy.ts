import type { Pool } from '../adapters/mysql/pool.js';
import type { Keys } from '../adapters/redis/keys.js';
import type { Redis } from '../adapters/redis/client.js';
import type { Scripts } from '../adapters/redis/scripts.js';

/** Issues one coupon to one user synchronously: recorded in MySQL when the promise resolves, or a typed error. */
export interface IssueStrategy {
  readonly name: string;
  issue(couponId: number, userId: number): Promise<void>;
}

export interface StrategyDeps {
  readonly db: Pool;
  readonly redis: Redis;
  readonly scripts: Scripts;
  readonly keys: Keys;
  readonly now: () => Date;
}
