import mysql from 'mysql2/promise';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { isRetryableTransactionError } from './mysql-errors.js';

/** Anything that runs a query: the pool, or a connection inside a transaction. Repositories take this. */
export type Queryable = Pick<Pool, 'query' | 'execute'>;
export type { Pool, PoolConnection };

/** Server and credentials from a mysql:// URL; `database` is '' when the URL names none. */
export function connectionOptions(url: string): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

export function createPool(url: string, size: number): Pool {
  const { database, ...server } = connectionOptions(url);
  return mysql.createPool({
    ...server,
    database: database || undefined,
    connectionLimit: size,
    // Unbounded wait queue: a flood waits for a connection instead of failing.
    queueLimit: 0,
    waitForConnections: true,
    connectTimeout: 3000,
    enableKeepAlive: true,
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
  });
}

const TRANSACTION_ATTEMPTS = 3;

/**
 * Runs fn in one transaction; commits on success, rolls back on any error and rethrows it.
 * A deadlock or lock-wait timeout runs it again (InnoDB aborted it whole), up to 3 times.
 */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolConnection) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runTransaction(pool, fn);
    } catch (err) {
      if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableTransactionError(err)) throw err;
    }
  }
}

async function runTransaction<T>(pool: Pool, fn: (tx: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => conn.destroy());
    throw err;
  } finally {
    conn.release();
  }
}

export async function ping(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
