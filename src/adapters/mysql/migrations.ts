import mysql from 'mysql2/promise';
import { connectionOptions } from './pool.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** Append-only: never edit a released migration, add the next version. Runs on MariaDB 10.11 and MySQL 8. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'coupons and coupon_issues',
    statements: [
      `CREATE TABLE coupons (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        title VARCHAR(255) NOT NULL,
        coupon_type VARCHAR(32) NOT NULL,
        total_quantity INT UNSIGNED NULL,
        issued_quantity INT UNSIGNED NOT NULL DEFAULT 0,
        discount_amount BIGINT UNSIGNED NOT NULL,
        min_available_amount BIGINT UNSIGNED NOT NULL,
        date_issue_start DATETIME(3) NOT NULL,
        date_issue_end DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT chk_coupons_window CHECK (date_issue_end > date_issue_start),
        -- MySQL's own guard on the count: a bug upstream fails its transaction instead of over-issuing.
        CONSTRAINT chk_coupons_issued_within_total CHECK (total_quantity IS NULL OR issued_quantity <= total_quantity)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // No foreign key to coupons on purpose: its shared lock on the hot coupon row
      // would deadlock against the conditional UPDATE of concurrent issues.
      `CREATE TABLE coupon_issues (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        coupon_id BIGINT UNSIGNED NOT NULL,
        user_id BIGINT UNSIGNED NOT NULL,
        date_issued DATETIME(3) NOT NULL,
        date_used DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_coupon_issues_coupon_user (coupon_id, user_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  {
    version: 2,
    name: 'coupons.issue_mode: the path (sync or async) a coupon is issued through',
    statements: [
      `ALTER TABLE coupons ADD COLUMN issue_mode VARCHAR(5) NULL AFTER coupon_type,
        ADD CONSTRAINT chk_coupons_issue_mode CHECK (issue_mode IS NULL OR issue_mode IN ('SYNC', 'ASYNC'))`,
      // A coupon already issued cannot say which path did it: bind it to the sync path, whose count is
      // in MySQL. Safe either way: at worst its async requests are refused, never sold twice.
      `UPDATE coupons SET issue_mode = 'SYNC' WHERE issue_mode IS NULL AND issued_quantity > 0`,
    ],
  },
  {
    version: 3,
    name: 'coupon_issue_failures (async issues given up, kept where they cannot vanish) and coupon_reservation_marks',
    statements: [
      // One row per stream entry given up: a replay of the same entry records nothing new (unique key).
      // user_id and reserved_at are NULL only for an entry too malformed to name them.
      `CREATE TABLE coupon_issue_failures (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        coupon_id BIGINT UNSIGNED NOT NULL,
        user_id BIGINT UNSIGNED NULL,
        reserved_at DATETIME(3) NULL,
        entry_id VARCHAR(64) NOT NULL,
        entry_fields VARCHAR(2048) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        reason VARCHAR(1024) NOT NULL,
        attempts INT UNSIGNED NOT NULL,
        state VARCHAR(10) NOT NULL,
        unit_release VARCHAR(255) NULL,
        failed_at DATETIME(3) NOT NULL,
        retried_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_coupon_issue_failures_entry (coupon_id, entry_id),
        KEY idx_coupon_issue_failures_user (coupon_id, user_id),
        KEY idx_coupon_issue_failures_state (state, coupon_id),
        CONSTRAINT chk_coupon_issue_failures_state CHECK (state IN ('FAILED', 'REQUEUED', 'SUPERSEDED'))
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // The most reservations each coupon's users hash was seen holding, flushed by the API off the hot
      // path: after Redis lost data, the rebuild compares it with MySQL to say how many were lost.
      `CREATE TABLE coupon_reservation_marks (
        coupon_id BIGINT UNSIGNED NOT NULL,
        reserved_seen INT UNSIGNED NOT NULL,
        seen_at DATETIME(3) NOT NULL,
        PRIMARY KEY (coupon_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  {
    version: 4,
    name: 'coupons.waiting_room_*: the opt-in waiting room (null ttl = no waiting room)',
    statements: [
      `ALTER TABLE coupons ADD COLUMN waiting_room_ttl_seconds INT UNSIGNED NULL,
        ADD COLUMN waiting_room_pre_queue_seconds INT UNSIGNED NULL,
        ADD CONSTRAINT chk_coupons_waiting_room CHECK (
          (waiting_room_ttl_seconds IS NULL AND waiting_room_pre_queue_seconds IS NULL)
          OR (waiting_room_ttl_seconds BETWEEN 1 AND 3600 AND waiting_room_pre_queue_seconds BETWEEN 0 AND 86400))`,
    ],
  },
];

export interface MigrateResult {
  readonly database: string;
  readonly applied: readonly number[];
  readonly current: number;
}

/** Creates the database if missing, then applies pending migrations under a named lock (safe to run from many processes). */
export async function migrate(mysqlUrl: string): Promise<MigrateResult> {
  // Connect without the database: it may not exist yet.
  const { database, ...server } = connectionOptions(mysqlUrl);
  const conn = await mysql.createConnection({ ...server, connectTimeout: 5000 });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4`);
    await conn.query(`USE \`${database}\``);
    const [[lock]] = (await conn.query('SELECT GET_LOCK(?, 60) AS got', [`migrate:${database}`])) as unknown as [[{ got: number }]];
    if (lock.got !== 1) throw new Error(`could not take the migration lock of ${database} within 60 s`);
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB`);
      const [rows] = (await conn.query('SELECT version FROM schema_migrations')) as unknown as [{ version: number }[]];
      const done = new Set(rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        // DDL commits implicitly in MySQL, so a migration is recorded right after its statements.
        for (const sql of m.statements) await conn.query(sql);
        await conn.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, NOW(3))', [m.version, m.name]);
        applied.push(m.version);
      }
      return { database, applied, current: MIGRATIONS.at(-1)?.version ?? 0 };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [`migrate:${database}`]);
    }
  } finally {
    await conn.end();
  }
}
