/** Every failure a client can see has a stable UPPER_SNAKE code and an HTTP status. */
export const ErrorCode = {
  COUPON_NOT_EXIST: 'COUPON_NOT_EXIST',
  COUPON_ISSUE_NOT_EXIST: 'COUPON_ISSUE_NOT_EXIST',
  INVALID_COUPON_ISSUE_QUANTITY: 'INVALID_COUPON_ISSUE_QUANTITY',
  INVALID_COUPON_ISSUE_DATE: 'INVALID_COUPON_ISSUE_DATE',
  DUPLICATED_COUPON_ISSUE: 'DUPLICATED_COUPON_ISSUE',
  /** The coupon is bound to the other issue path (its stock is counted there). */
  COUPON_ISSUE_MODE_MISMATCH: 'COUPON_ISSUE_MODE_MISMATCH',
  /** An admin change would set the total below the units already taken. */
  QUANTITY_BELOW_ISSUED: 'QUANTITY_BELOW_ISSUED',
  /** Waiting room (issue #13): the coupon has none, so there is no line to join. */
  NO_WAITING_ROOM: 'NO_WAITING_ROOM',
  /** A ticket that is unknown, forged, or of another coupon. */
  TICKET_NOT_EXIST: 'TICKET_NOT_EXIST',
  /** A claim on a waiting-room coupon without the caller's own ADMITTED, unexpired ticket. */
  NOT_ADMITTED: 'NOT_ADMITTED',
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Authenticated, but asking for another user. */
  FORBIDDEN: 'FORBIDDEN',
  /** Over RATE_LIMIT_PER_USER or RATE_LIMIT_PER_IP; nothing was reserved or written. */
  RATE_LIMITED: 'RATE_LIMITED',
  NOT_FOUND: 'NOT_FOUND',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CouponError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds after which trying again makes sense (the Retry-After header), when the refusal is temporary. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, status: number, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    // Below 500 these are answers, not faults: their stack is never read, and capturing it was a
    // measurable share of a flood of refusals (docs/benchmarks.md). 5xx keep theirs for the logs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = options?.retryAfterSeconds;
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

export class QuantityBelowIssuedError extends CouponError {
  constructor(couponId: number, totalQuantity: number, taken: number) {
    super(ErrorCode.QUANTITY_BELOW_ISSUED, 409, `coupon ${couponId} has ${taken} units taken: its total cannot become ${totalQuantity}`);
  }
}

export class NoWaitingRoomError extends CouponError {
  constructor(couponId: number) {
    super(ErrorCode.NO_WAITING_ROOM, 409, `coupon ${couponId} has no waiting room`);
  }
}

export class TicketNotExistError extends CouponError {
  constructor(couponId: number) {
    super(ErrorCode.TICKET_NOT_EXIST, 404, `no such ticket in the waiting room of coupon ${couponId}`);
  }
}

export class NotAdmittedError extends CouponError {
  constructor(couponId: number, why: string) {
    super(ErrorCode.NOT_ADMITTED, 409, `coupon ${couponId} is claimed through its waiting room: ${why}`);
  }
}

export class InvalidRequestError extends CouponError {
  constructor(message: string, status = 400) {
    super(ErrorCode.INVALID_REQUEST, status, message);
  }
}

export class UnauthorizedError extends CouponError {
  constructor(message = 'a valid admin bearer token is required') {
    super(ErrorCode.UNAUTHORIZED, 401, message);
  }
}

export class ForbiddenError extends CouponError {
  constructor(message: string) {
    super(ErrorCode.FORBIDDEN, 403, message);
  }
}

export type RateLimitedBy = 'user' | 'ip';

export class RateLimitedError extends CouponError {
  constructor(readonly limitedBy: RateLimitedBy) {
    // Limits count calendar seconds, so the next one is at most a second away.
    super(ErrorCode.RATE_LIMITED, 429, `too many requests from this ${limitedBy === 'user' ? 'user' : 'address'}; try again in a second`, { retryAfterSeconds: 1 });
  }
}

export class UnavailableError extends CouponError {
  constructor(message: string, cause?: unknown, retryAfterSeconds?: number) {
    super(ErrorCode.UNAVAILABLE, 503, message, { cause, retryAfterSeconds });
  }
}
