/**
 * An async issue the consumer gave up on: accepted (202) and reserved, but never written to MySQL.
 * Kept in MySQL so it cannot vanish with Redis; its user reads FAILED, not PENDING forever.
 */
export const FailureKind = {
  /** MySQL refused the values (SQLSTATE 21/22/23, a CHECK): retrying as is cannot help. */
  REFUSED_BY_DATABASE: 'REFUSED_BY_DATABASE',
  /** The stream entry does not name a user and a time (written around the script). */
  MALFORMED_ENTRY: 'MALFORMED_ENTRY',
  /** Its consumers kept dying while holding it. */
  REDELIVERED_TOO_OFTEN: 'REDELIVERED_TOO_OFTEN',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** FAILED until an operator re-queues it (REQUEUED) or the user got the coupon another way (SUPERSEDED). */
export const FailureState = { FAILED: 'FAILED', REQUEUED: 'REQUEUED', SUPERSEDED: 'SUPERSEDED' } as const;
export type FailureState = (typeof FailureState)[keyof typeof FailureState];

export interface IssueFailure {
  readonly id: number;
  readonly couponId: number;
  /** null only for a malformed entry. */
  readonly userId: number | null;
  readonly reservedAt: Date | null;
  readonly entryId: string;
  readonly entryFields: readonly string[];
  readonly kind: FailureKind;
  readonly reason: string;
  readonly attempts: number;
  readonly state: FailureState;
  /** What became of the unit the reservation held in Redis (released, or why not); null until known. */
  readonly unitRelease: string | null;
  readonly failedAt: Date;
  readonly retriedAt: Date | null;
}

export type NewIssueFailure = Omit<IssueFailure, 'id' | 'state' | 'unitRelease' | 'failedAt' | 'retriedAt'>;
