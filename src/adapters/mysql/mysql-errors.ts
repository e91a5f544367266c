/** How MySQL (and MariaDB) failures are told apart: out of reach, retryable, or the data's own fault. */

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_CONNECTION_KILLED',
  'ER_OPTION_PREVENTS_STATEMENT', // read-only after a failover
]);

/** MySQL out of reach or refusing work for now (not our code's or data's fault). */
export function isMysqlUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; fatal?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (e.fatal === true) return true; // mysql2 marks connection-level failures fatal
  return e.message === 'Pool is closed.' || e.message.includes("Can't add new command when connection is in closed state");
}

/** Lock conflicts InnoDB resolves by aborting one transaction: running it again is the documented remedy. */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

export function isDuplicateKeyError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_DUP_ENTRY';
}

/** MySQL 8's CHECK violation: it reports SQLSTATE HY000, so the class test below misses it. */
const MYSQL_CHECK_CONSTRAINT_VIOLATED = 3819;

/**
 * MySQL refusing the data itself (a CHECK, a NULL, a value out of range): retrying cannot help, so the
 * consumer gives such an entry up. Every other MySQL error (read-only, missing table, no grant,
 * full disk) is the environment's and is retried until it is fixed. Told apart by SQLSTATE class
 * (21 cardinality, 22 data exception, 23 integrity constraint) plus MySQL 8's CHECK error by number;
 * numbers alone would not do (MariaDB's CHECK failure, 4025 with SQLSTATE 23000, is another error's
 * number in MySQL).
 */
export function isDataError(err: unknown): boolean {
  const e = err as { sqlState?: unknown; errno?: unknown } | null;
  if (e?.errno === MYSQL_CHECK_CONSTRAINT_VIOLATED) return true;
  return typeof e?.sqlState === 'string' && /^2[123]/.test(e.sqlState);
}
