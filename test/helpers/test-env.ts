import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { loadConfig, type Config } from '../../src/config.js';
import { migrate } from '../../src/adapters/mysql/migrations.js';
import { reservationsOf } from '../../src/async-issue/coupon-mirror.js';
import { createDeps, type Deps } from '../../src/deps.js';
import type { CouponServiceDeps } from '../../src/domain/coupon.service.js';
import { deleteKeysWithPrefix } from '../../src/adapters/redis/client.js';
import { withDatabase } from '../../src/harness/database.js';
import { listFailures } from '../../src/domain/issue-failure.repository.js';
import type { IssueFailure } from '../../src/domain/issue-failure.js';

const MYSQL_BASE = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestEnv {
  /** Environment variables that point a child process at this test's own database and key prefix. */
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly deps: Deps;
  /** What the domain's coupon service takes, wired to this test's own database and Redis prefix. */
  readonly coupons: CouponServiceDeps;
  destroy(): Promise<void>;
}

/** A fresh database and Redis key prefix owned by one test file, so files can run in any order and in parallel. */
export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = randomBytes(4).toString('hex');
  const env = {
    MYSQL_URL: withDatabase(MYSQL_BASE, `fcfs_test_${id}`),
    REDIS_URL,
    REDIS_KEY_PREFIX: `test:${id}:`,
    LOG_LEVEL: 'silent',
    ...overrides,
  };
  await migrate(env.MYSQL_URL);
  const config = loadConfig(env);
  const deps = createDeps(config, 'test');
  return {
    env,
    config,
    deps,
    coupons: { db: deps.db, now: deps.now, log: deps.log, reservations: reservationsOf(deps) },
    async destroy() {
      await deleteKeysWithPrefix(deps.redis, env.REDIS_KEY_PREFIX);
      await deps.db.query(`DROP DATABASE IF EXISTS \`${config.mysqlDatabase}\``);
      await deps.close();
    },
  };
}

/** A coupon row inserted directly (tests of the HTTP create endpoint live in the API tests). */
export async function insertTestCoupon(deps: Deps, opts: { total: number | null; start?: Date; end?: Date }): Promise<number> {
  const start = opts.start ?? new Date(Date.now() - 60_000);
  const end = opts.end ?? new Date(Date.now() + 3_600_000);
  const [res] = (await deps.db.execute(
    `INSERT INTO coupons (title, coupon_type, total_quantity, issued_quantity, discount_amount, min_available_amount,
       date_issue_start, date_issue_end, created_at, updated_at) VALUES ('test', 'FIRST_COME_FIRST_SERVED', ?, 0, 1000, 0, ?, ?, NOW(3), NOW(3))`,
    [opts.total, start, end],
  )) as unknown as [mysql.ResultSetHeader];
  return res.insertId;
}

/** The failed issues recorded for a coupon (coupon_issues' counterpart for what the consumer gave up). */
export async function failuresOf(deps: Deps, couponId: number): Promise<IssueFailure[]> {
  return listFailures(deps.db, { couponId });
}
