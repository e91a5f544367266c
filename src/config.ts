import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { SECURITY_ENV, securityConfig, type SecurityConfig } from './security-config.js';

export { ConfigError };

export const STRATEGY_NAMES = ['mysql-atomic', 'mysql-lock', 'redis-lock', 'process-lock', 'none'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** More API processes than this on one machine is a typo, not a deployment. */
export const MAX_API_WORKERS = 256;

/** API_WORKERS and `--workers`: `auto` is one per core; undefined when neither that nor 1..MAX_API_WORKERS. */
export function parseWorkerCount(raw: string): number | undefined {
  if (raw === 'auto') return availableParallelism();
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_API_WORKERS ? n : undefined;
}

export const WORKER_COUNT_RULE = `auto or an integer from 1 to ${MAX_API_WORKERS}`;

const EnvSchema = z.object({
  MYSQL_URL: z.url({ protocol: /^mysql$/ }).default('mysql://root@127.0.0.1:3306/coupon'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /** Seed nodes of a Redis Cluster (`host:port,host:port`); when set, REDIS_URL is not used. */
  REDIS_CLUSTER_NODES: z.string().regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port[,host:port...]').optional(),
  /**
   * After each reservation, WAIT until this many replicas have it (at most REDIS_WAIT_TIMEOUT_MS):
   * narrows what a failover loses to asynchronous replication. 0: off.
   */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).default(0),
  REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(1).max(10_000).default(100),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUE_STRATEGY: z.enum(STRATEGY_NAMES).default('mysql-atomic'),
  ADMIN_TOKEN: z.string().min(1).optional(),
  /** Prefix of every Redis key, so tests and several deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().regex(/^[^{}]*$/, 'must not contain { or }').default('fcfs:'),
  MYSQL_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `1`: one info line per request (the access log); off by default, it cost a refusal about a third more CPU. */
  LOG_REQUESTS: z.enum(['0', '1', 'true', 'false']).default('0'),
  /** Consumer: how long an entry may sit unacknowledged at a dead consumer before another takes it. */
  CONSUMER_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(30_000),
  /** A stable name lets a restarted consumer take back its own unacknowledged entries at once. */
  CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
  CONSUMER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** API: sold-out coupons' winners held in memory over all coupons (least recently used go first); 0 = none. */
  SOLD_OUT_CACHE_WINNERS: z.coerce.number().int().min(0).default(2_000_000),
  /** `0` turns request recording, /metrics and the consistency watch off (the bench's metrics-off measure). */
  METRICS_ENABLED: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** Where `coupon consumer` serves its /metrics (`coupon start` serves them on the API's port). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** How often the consistency watch compares Redis with MySQL for the coupons it watches. */
  CONSISTENCY_CHECK_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
  /** A gap that stays non-zero this long is logged as a warning (longer than a drain should take). */
  CONSISTENCY_ALERT_AFTER_MS: z.coerce.number().int().min(0).default(30_000),
  /** The API refuses to start unless a 202 survives a Redis crash (`1`), or a power loss too (`power-loss`). */
  REQUIRE_DURABLE_REDIS: z.enum(['0', '1', 'true', 'false', 'power-loss']).default('0'),
  /** API processes on one port (node:cluster); 1: one process, no primary. */
  API_WORKERS: z.string().default('1').transform((raw, ctx) => {
    const n = parseWorkerCount(raw);
    if (n === undefined) ctx.addIssue({ code: 'custom', message: `must be ${WORKER_COUNT_RULE}` });
    return n ?? 1;
  }),
  ...SECURITY_ENV,
});

export type Config = Readonly<{
  mysqlUrl: string;
  mysqlDatabase: string;
  redisUrl: string;
  /** A Redis Cluster's seed nodes (`host:port`), or null for the one Redis at redisUrl. */
  redisClusterNodes: readonly string[] | null;
  /** Replicas a reservation waits for before its 202 (0: none), and for how long at most. */
  redisWaitReplicas: number;
  redisWaitTimeoutMs: number;
  port: number;
  host: string;
  issueStrategy: StrategyName;
  adminToken: string | undefined;
  redisKeyPrefix: string;
  mysqlPoolSize: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  logRequests: boolean;
  consumerClaimIdleMs: number;
  consumerBatchSize: number;
  consumerName: string | undefined;
  soldOutCacheWinners: number;
  metricsEnabled: boolean;
  metricsPort: number;
  consistencyCheckIntervalMs: number;
  consistencyAlertAfterMs: number;
  /** What a 202 must survive for the API to start; null: no requirement. */
  requireDurableRedis: 'process-crash' | 'power-loss' | null;
  /** API processes serving PORT together; above 1 a primary process supervises them. */
  apiWorkers: number;
  /** Identity, rate limits, connection limits and load shedding (security-config.ts). */
  security: SecurityConfig;
}>;

const isOn = (flag: '0' | '1' | 'true' | 'false'): boolean => flag === '1' || flag === 'true';

/** Reads and validates the environment once; a bad value is a ConfigError with a one-line message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(defined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`invalid ${name}: ${issue?.message ?? 'bad value'} (got ${JSON.stringify(env[name] ?? null)})`);
  }
  const e = parsed.data;
  const database = decodeURIComponent(new URL(e.MYSQL_URL).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new ConfigError(`invalid MYSQL_URL: the path must name a database of letters, digits and _ (got ${JSON.stringify(database)})`);
  }
  return Object.freeze({
    mysqlUrl: e.MYSQL_URL,
    mysqlDatabase: database,
    redisUrl: e.REDIS_URL,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    redisWaitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ? Object.freeze(e.REDIS_CLUSTER_NODES.split(',')) : null,
    port: e.PORT,
    host: e.HOST,
    issueStrategy: e.ISSUE_STRATEGY,
    adminToken: e.ADMIN_TOKEN,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    mysqlPoolSize: e.MYSQL_POOL_SIZE,
    logLevel: e.LOG_LEVEL,
    logRequests: isOn(e.LOG_REQUESTS),
    consumerClaimIdleMs: e.CONSUMER_CLAIM_IDLE_MS,
    consumerBatchSize: e.CONSUMER_BATCH_SIZE,
    consumerName: e.CONSUMER_NAME,
    soldOutCacheWinners: e.SOLD_OUT_CACHE_WINNERS,
    metricsEnabled: isOn(e.METRICS_ENABLED),
    metricsPort: e.METRICS_PORT,
    consistencyCheckIntervalMs: e.CONSISTENCY_CHECK_INTERVAL_MS,
    consistencyAlertAfterMs: e.CONSISTENCY_ALERT_AFTER_MS,
    requireDurableRedis: e.REQUIRE_DURABLE_REDIS === 'power-loss' ? 'power-loss'
      : e.REQUIRE_DURABLE_REDIS === '1' || e.REQUIRE_DURABLE_REDIS === 'true' ? 'process-crash' : null,
    apiWorkers: e.API_WORKERS,
    security: securityConfig(e, e.ADMIN_TOKEN),
  });
}
