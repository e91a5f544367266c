import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Reserver } from '../../../async-issue/reserver.js';
import type { RateLimiter } from '../../../rate-limit/rate-limiter.js';
import type { IssueStrategy } from '../../../sync-issue/index.js';
import { claimThrough, type WaitingRoom } from '../../../waiting-room/waiting-room.service.js';
import { sendCouponError } from '../error-handler.js';
import type { AnswerHook } from '../metrics.js';
import type { Identity } from '../identity.js';
import { ErrorResponse, IssueRequest, IssueRequestOfTokenUser, SuccessResponse } from '../schemas.js';
import { ErrorCode } from '../../../errors.js';
import { errorResponses } from '../openapi.js';

export const OK = { isSuccess: true, comment: null } as const;

/**
 * Body validation and compiled serializers of both issue routes; the bench's baseline uses it too.
 * Error bodies get a compiled serializer as well: most answers of a flood are 409s.
 */
export function issueRouteSchema(successStatus: 200 | 202, body: typeof IssueRequest | typeof IssueRequestOfTokenUser = IssueRequest) {
  return {
    tags: ['issue'],
    summary: successStatus === 200 ? 'Issue a coupon now: in MySQL before the 200' : 'Reserve a coupon in Redis; the consumer persists it',
    body,
    response: {
      [successStatus]: SuccessResponse,
      ...errorResponses({
        404: [ErrorCode.COUPON_NOT_EXIST],
        401: [ErrorCode.UNAUTHORIZED],
        403: [ErrorCode.FORBIDDEN],
        409: [ErrorCode.DUPLICATED_COUPON_ISSUE, ErrorCode.INVALID_COUPON_ISSUE_QUANTITY, ErrorCode.INVALID_COUPON_ISSUE_DATE, ErrorCode.COUPON_ISSUE_MODE_MISMATCH, ErrorCode.NOT_ADMITTED],
        429: [ErrorCode.RATE_LIMITED],
        413: [ErrorCode.INVALID_REQUEST],
        415: [ErrorCode.INVALID_REQUEST],
      }),
      // Any other status (another part's 401 or 429, say) still gets the compiled serializer.
      '4xx': ErrorResponse,
      '5xx': ErrorResponse,
    },
  };
}

export interface IssueRouteDeps {
  readonly strategy: IssueStrategy;
  readonly reserver: Reserver;
  readonly identity: Identity;
  /** The sync path's limits; the reserver counts the async path's inside its script. */
  readonly limiter: RateLimiter;
  readonly now: () => Date;
  /** On a coupon with a waiting room, an issue needs the caller's ADMITTED ticket. */
  readonly room?: WaitingRoom;
}

/**
 * `onAnswer` (absent with METRICS_ENABLED=0) records every answer, refusals and faults included.
 * `room`: on a coupon with a waiting room, an issue needs the caller's ADMITTED ticket (checked after
 * the identity and the sync path's limits, before the issue).
 */
export function registerIssueRoutes(app: FastifyInstance, d: IssueRouteDeps, onAnswer?: AnswerHook): void {
  const body = d.identity.mode === 'jwt' ? IssueRequestOfTokenUser : IssueRequest;
  const onRequest = d.identity.onRequest;
  const claimOf = (couponId: number, userId: number, ticket: string | undefined) => d.room?.beginClaim(couponId, userId, ticket) ?? null;
  // Answers are recorded as they are sent: here, and for thrown errors in the one error handler.
  const recordSync = onAnswer?.('sync');
  const recordAsync = onAnswer?.('async');

  app.post<{ Body: IssueRequestOfTokenUser }>('/v1/issue', {
    onRequest,
    config: { recordAnswer: recordSync },
    schema: issueRouteSchema(200, body),
  }, async (req, reply) => {
    const userId = d.identity.userFor(req, req.body.userId);
    const limited = await d.limiter.check(req.body.couponId, userId, req.ip, d.now().getTime());
    if (limited) throw limited;
    await claimThrough(await claimOf(req.body.couponId, userId, req.body.ticket), () => d.strategy.issue(req.body.couponId, userId));
    recordSync?.(req, reply, 'OK');
    return OK;
  });

  // Refusals come back as values here: throwing each of a flood's 409s halved throughput (docs/benchmarks.md).
  const reserve = async (req: FastifyRequest<{ Body: IssueRequestOfTokenUser }>, reply: FastifyReply, userId: number, noRoom: boolean) => {
    const { couponId } = req.body;
    const decide = () => d.reserver.decide(couponId, userId, req.ip);
    // Known to have no room: no claim to begin or settle, so no promises for them either.
    const refusal = await (noRoom ? decide() : claimThrough(await claimOf(couponId, userId, req.body.ticket), decide));
    if (refusal) return sendCouponError(reply, refusal, recordAsync);
    recordAsync?.(req, reply, 'OK');
    return reply.status(202).send(OK);
  };

  // Accepted once reserved in Redis and queued in its stream; the consumer writes it to MySQL.
  app.post<{ Body: IssueRequestOfTokenUser }>('/v1/issue-async', {
    onRequest,
    config: { recordAnswer: recordAsync },
    schema: issueRouteSchema(202, body),
  }, (req, reply) => {
    const userId = d.identity.userFor(req, req.body.userId);
    // A sold-out flood's answer is in this process's memory: sent at once, without a promise, unless
    // a waiting room may have to check the ticket first.
    const couponId = req.body.couponId;
    const noRoom = d.room === undefined || d.room.knownWithoutRoom(couponId);
    const cached = noRoom ? d.reserver.cachedRefusal(couponId, userId) : undefined;
    if (cached === undefined) return reserve(req, reply, userId, noRoom);
    sendCouponError(reply, cached, recordAsync);
    return undefined; // sent: returning the reply would make Fastify send it twice
  });
}
