/** Every failure a client can see has a stable UPPER_SNAKE code and an HTTP status. */
export const ErrorCode = {
  COUPON_NOT_EXIST: 'COUPON_NOT_EXIST',
  COUPON_ISSUE_NOT_EXIST: 'COUPON_ISSUE_NOT_EXIST',
  INVALID_COUPON_ISSUE_QUANTITY: 'INVALID_COUPON_ISSUE_QUANTITY',
  INVALID_COUPON_ISSUE_DATE: 'INVALID_COUPON_ISSUE_DATE',
  DUPLICATED_COUPON_ISSUE: 'DUPLICATED_COUPON_ISSUE',
  /** The coupon is bound to the other issue path (its stock is counted there). */
  COUPON_ISSUE_MODE_MISMATCH: 'COUPON_ISSUE_MODE_MISMATCH',
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CouponError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    // Below 500 these are answers, not faults: their stack is never read, and capturing it was a
    // measurable share of a flood of refusals (docs/benchmarks.md). 5xx keep theirs for the logs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
    this.status = status;
    this.name = new.target.name;
  }
}

export class CouponNotExistError extends CouponError {
  constructor(couponId: number) {
    super(ErrorCode.COUPON_NOT_EXIST, 404, `coupon ${couponId} does not exist`);
  }
}

export class CouponIssueNotExistError extends CouponError {
  constructor(couponId: number, userId: number) {
    super(ErrorCode.COUPON_ISSUE_NOT_EXIST, 404, `user ${userId} has no issue of coupon ${couponId}`);
  }
}

export class CouponSoldOutError extends CouponError {
  constructor(couponId: number) {
    super(ErrorCode.INVALID_COUPON_ISSUE_QUANTITY, 409, `coupon ${couponId} is sold out`);
  }
}

export class IssueWindowClosedError extends CouponError {
  constructor(couponId: number) {
    super(ErrorCode.INVALID_COUPON_ISSUE_DATE, 409, `coupon ${couponId} is outside its issue window`);
  }
}

export class DuplicatedIssueError extends CouponError {
  constructor(couponId: number, userId: number) {
    super(ErrorCode.DUPLICATED_COUPON_ISSUE, 409, `user ${userId} already has coupon ${couponId}`);
  }
}

export class IssueModeMismatchError extends CouponError {
  constructor(couponId: number, boundTo: 'SYNC' | 'ASYNC') {
    const endpoint = boundTo === 'SYNC' ? 'POST /v1/issue' : 'POST /v1/issue-async';
    super(ErrorCode.COUPON_ISSUE_MODE_MISMATCH, 409, `coupon ${couponId} is issued through ${endpoint} only`);
  }
}

export class InvalidRequestError extends CouponError {
  constructor(message: string, status = 400) {
    super(ErrorCode.INVALID_REQUEST, status, message);
  }
}

export class UnauthorizedError extends CouponError {
  constructor() {
    super(ErrorCode.UNAUTHORIZED, 401, 'a valid admin bearer token is required');
  }
}

export class UnavailableError extends CouponError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.UNAVAILABLE, 503, message, { cause });
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_CONNECTION_KILLED',
  'ER_OPTION_PREVENTS_STATEMENT', // read-only after a failover
]);
/** Redis replies that mean "not now" (loading its data, busy script, failover), not "wrong". */
const REDIS_TRANSIENT_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;
const REDIS_DOWN_MESSAGES = [
  'Connection is closed', 'Command timed out', "Stream isn't writeable", 'Reached the max retries per request limit',
  'connect ECONNREFUSED', 'ERR max number of clients',
];

/**
 * True for faults of MySQL or Redis being out of reach (not of our code or data).
 * The API answers these with 503 and the consumer retries them forever instead of dead-lettering.
 */
export function isInfrastructureError(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; fatal?: unknown };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.fatal === true) return true; // mysql2 marks connection-level failures fatal
  if (e.message === 'Pool is closed.' || e.message.includes("Can't add new command when connection is in closed state")) return true;
  if (REDIS_DOWN_MESSAGES.some((m) => e.message.includes(m))) return true;
  if (e.name === 'ReplyError' && REDIS_TRANSIENT_REPLIES.test(e.message)) return true;
  return err instanceof AggregateError && err.errors.some(isInfrastructureError);
}

/** Lock conflicts InnoDB resolves by aborting one transaction: running it again is the documented remedy. */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** MySQL 8's CHECK violation: it reports SQLSTATE HY000, so the class test below misses it. */
const MYSQL_CHECK_CONSTRAINT_VIOLATED = 3819;

/**
 * MySQL refusing the data itself (a CHECK, a NULL, a value out of range): retrying cannot help, so the
 * consumer dead-letters such an entry. Every other MySQL error (read-only, missing table, no grant,
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
