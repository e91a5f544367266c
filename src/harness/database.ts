import mysql from 'mysql2/promise';
import { connectionOptions } from '../adapters/mysql/pool.js';

function checkName(database: string): string {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) throw new Error(`a database name must be letters, digits and _ (got ${JSON.stringify(database)})`);
  return database;
}

/** The same server and credentials, another database. */
export function withDatabase(mysqlUrl: string, database: string): string {
  const u = new URL(mysqlUrl);
  u.pathname = `/${checkName(database)}`;
  return u.toString();
}

/** Drops a database the bench or demo owns (never the one in MYSQL_URL: callers pass their own name). */
export async function dropDatabase(mysqlUrl: string, database: string): Promise<void> {
  const { database: _, ...server } = connectionOptions(mysqlUrl);
  const conn = await mysql.createConnection(server);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${checkName(database)}\``);
  } finally {
    await conn.end();
  }
}
