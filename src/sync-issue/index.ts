import type { StrategyName } from '../config.js';
import { createMysqlAtomicStrategy } from './mysql-atomic.js';
import { createMysqlLockStrategy } from './mysql-lock.js';
import { createNoLockStrategy } from './none.js';
import { createProcessLockStrategy } from './process-lock.js';
import { createRedisLockStrategy } from './redis-lock.js';
import type { IssueStrategy, StrategyDeps } from './strategy.js';

export type { IssueStrategy, StrategyDeps };

const FACTORIES: Record<StrategyName, (deps: StrategyDeps) => IssueStrategy> = {
  'mysql-atomic': createMysqlAtomicStrategy,
  'mysql-lock': createMysqlLockStrategy,
  'redis-lock': createRedisLockStrategy,
  'process-lock': createProcessLockStrategy,
  none: createNoLockStrategy,
};

export function createStrategy(name: StrategyName, deps: StrategyDeps): IssueStrategy {
  return FACTORIES[name](deps);
}
