import * as repo from '../../domain/coupon.repository.js';
import { FailureState, type IssueFailure } from '../../domain/issue-failure.js';
import * as failures from '../../domain/issue-failure.repository.js';
import type { Deps } from '../../deps.js';
import { UnavailableError } from '../../errors.js';
import { readRedisRules, rebuildCouponState } from '../coupon-mirror.js';
import { ReservationStreams } from '../stream/reservation-streams.js';

/**
 * REQUEUED: queued for the consumer again; ALREADY_ISSUED / SUPERSEDED: nothing to do, closed;
 * SOLD_OUT: its unit went to someone else meanwhile, left FAILED (re-queueing would over-issue);
 * NOT_RETRYABLE: nothing can be re-queued (no user named, coupon gone); NOT_OPEN: not FAILED any more.
 */
export type RetryOutcome = 'REQUEUED' | 'ALREADY_ISSUED' | 'SUPERSEDED' | 'SOLD_OUT' | 'NOT_RETRYABLE' | 'NOT_OPEN';

export interface RetryResult {
  readonly failure: IssueFailure;
  readonly outcome: RetryOutcome;
  readonly message: string;
}

/**
 * Re-queues a failed issue once its cause is fixed: the user's unit taken back in Redis if it is
 * still free, and a stream entry with the original reserved-at time. Safe to repeat: a second entry
 * for the same user is absorbed by the unique key in MySQL.
 */
export async function retryFailure(deps: Deps, failure: IssueFailure): Promise<RetryResult> {
  const result = (outcome: RetryOutcome, message: string): RetryResult => ({ failure, outcome, message });
  const { id, couponId, userId, reservedAt } = failure;
  if (failure.state !== FailureState.FAILED) return result('NOT_OPEN', `already ${failure.state}`);
  if (userId === null || reservedAt === null) return result('NOT_RETRYABLE', 'the entry names no user: there is nothing to re-queue');
  if (await repo.existsCouponIssue(deps.db, couponId, userId)) {
    await failures.closeFailure(deps.db, id, FailureState.SUPERSEDED, deps.now());
    return result('ALREADY_ISSUED', `user ${userId} holds coupon ${couponId} in MySQL already`);
  }
  if (!(await readRedisRules(deps, couponId)) && !(await rebuildCouponState(deps, couponId))) {
    return result('NOT_RETRYABLE', `coupon ${couponId} does not exist any more`);
  }
  const streams = new ReservationStreams(deps);
  await streams.activate(couponId);
  const outcome = await deps.scripts.requeueReservation(couponId, userId, reservedAt.getTime());
  switch (outcome) {
    case 'QUEUED':
      // Listed again after the entry too: a consumer pruning a finished coupon may have unlisted it in between.
      await streams.activate(couponId);
      await failures.closeFailure(deps.db, id, FailureState.REQUEUED, deps.now());
      return result('REQUEUED', 're-queued with its original time; the consumer writes it (GET status: PENDING, then ISSUED)');
    case 'SUPERSEDED':
      await failures.closeFailure(deps.db, id, FailureState.SUPERSEDED, deps.now());
      return result('SUPERSEDED', `user ${userId} has reserved coupon ${couponId} again since; that reservation stands`);
    case 'SOLD_OUT':
      return result('SOLD_OUT', `coupon ${couponId} sold out after this unit was released: not re-queued (it would over-issue); left FAILED`);
    case 'NOT_LOADED':
      throw new UnavailableError(`coupon ${couponId} was lost from redis again while retrying; try again`);
  }
}
