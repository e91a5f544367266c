import type { Pool } from '../db/pool.js';
import type { Keys } from '../redis/keys.js';
import type { ScriptedRedis } from '../redis/scripts.js';

/** Issues one coupon to one user synchronously: recorded in MySQL when the promise resolves, or a typed error. */
export interface IssueStrategy {
  readonly name: string;
  issue(couponId: number, userId: number): Promise<void>;
}

export interface StrategyDeps {
  readonly db: Pool;
  readonly redis: ScriptedRedis;
  readonly keys: Keys;
  readonly now: () => Date;
}
