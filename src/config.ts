import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { SECURITY_ENV, securityConfig, type SecurityConfig } from './security-config.js';

export { ConfigError };

export const STRATEGY_NAMES = ['mysql-atomic', 'mysql-lock', 'redis-lock', 'process-lock', 'none'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

const EnvSchema = z.object({
  MYSQL_URL: z.url({ protocol: /^mysql$/ }).default('mysql://root@127.0.0.1:3306/coupon'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUE_STRATEGY: z.enum(STRATEGY_NAMES).default('mysql-atomic'),
  ADMIN_TOKEN: z.string().min(1).optional(),
  /** Prefix of every Redis key, so tests and several deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().regex(/^[^{}]*$/, 'must not contain { or }').default('fcfs:'),
  MYSQL_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Consumer: how long an entry may sit unacknowledged at a dead consumer before another takes it. */
  CONSUMER_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(30_000),
  /** A stable name lets a restarted consumer take back its own unacknowledged entries at once. */
  CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
  CONSUMER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** `1` adds POST /bench/noop, the no-I/O ceiling `coupon bench` measures; off in production. */
  BENCH_BASELINE: z.enum(['0', '1', 'true', 'false']).default('0'),
  ...SECURITY_ENV,
});

export type Config = Readonly<{
  mysqlUrl: string;
  mysqlDatabase: string;
  redisUrl: string;
  port: number;
  host: string;
  issueStrategy: StrategyName;
  adminToken: string | undefined;
  redisKeyPrefix: string;
  mysqlPoolSize: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  consumerClaimIdleMs: number;
  consumerBatchSize: number;
  consumerName: string | undefined;
  benchBaseline: boolean;
  /** Identity, rate limits, connection limits and load shedding (security-config.ts). */
  security: SecurityConfig;
}>;

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
    port: e.PORT,
    host: e.HOST,
    issueStrategy: e.ISSUE_STRATEGY,
    adminToken: e.ADMIN_TOKEN,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    mysqlPoolSize: e.MYSQL_POOL_SIZE,
    logLevel: e.LOG_LEVEL,
    consumerClaimIdleMs: e.CONSUMER_CLAIM_IDLE_MS,
    consumerBatchSize: e.CONSUMER_BATCH_SIZE,
    consumerName: e.CONSUMER_NAME,
    benchBaseline: e.BENCH_BASELINE === '1' || e.BENCH_BASELINE === 'true',
    security: securityConfig(e, e.ADMIN_TOKEN),
  });
}
