import type { FastifyInstance } from 'fastify';
import type { Reserver } from '../../../async-issue/reserver.js';
import type { IssueStrategy } from '../../../sync-issue/index.js';
import { claimThrough, type WaitingRoom } from '../../../waiting-room/waiting-room.service.js';
import { sendCouponError } from '../error-handler.js';
import type { AnswerHook } from '../metrics.js';
import { ErrorResponse, IssueRequest, SuccessResponse } from '../schemas.js';

export const OK = { isSuccess: true, comment: null } as const;

/**
 * Body validation and compiled serializers of both issue routes; the bench's baseline uses it too.
 * Error bodies get a compiled serializer as well: most answers of a flood are 409s.
 */
export function issueRouteSchema(successStatus: 200 | 202) {
  return { body: IssueRequest, response: { [successStatus]: SuccessResponse, '4xx': ErrorResponse, '5xx': ErrorResponse } };
}

/**
 * `onAnswer` (absent with METRICS_ENABLED=0) records every answer, refusals and faults included.
 * `room`: on a coupon with a waiting room, an issue needs the caller's ADMITTED ticket (checked first).
 */
export function registerIssueRoutes(
  app: FastifyInstance, strategy: IssueStrategy, reserver: Reserver, onAnswer?: AnswerHook, room?: WaitingRoom,
): void {
  const claimOf = (b: IssueRequest) => room?.beginClaim(b.couponId, b.userId, b.ticket) ?? null;
  app.post<{ Body: IssueRequest }>('/v1/issue', {
    ...(onAnswer && { onResponse: onAnswer('sync') }),
    schema: issueRouteSchema(200),
  }, async (req) => {
    await claimThrough(await claimOf(req.body), () => strategy.issue(req.body.couponId, req.body.userId));
    return OK;
  });

  // Accepted once reserved in Redis and queued in its stream; the consumer writes it to MySQL.
  app.post<{ Body: IssueRequest }>('/v1/issue-async', {
    ...(onAnswer && { onResponse: onAnswer('async') }),
    schema: issueRouteSchema(202),
  }, async (req, reply) => {
    // Refusals come back as values here: throwing each of a flood's 409s halved throughput (docs/benchmarks.md).
    const refusal = await claimThrough(await claimOf(req.body), () => reserver.decide(req.body.couponId, req.body.userId));
    return refusal ? sendCouponError(reply, refusal) : reply.status(202).send(OK);
  });
}
