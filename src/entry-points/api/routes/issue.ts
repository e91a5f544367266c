import type { FastifyInstance } from 'fastify';
import type { Reserver } from '../../../async-issue/reserver.js';
import type { IssueStrategy } from '../../../sync-issue/index.js';
import { sendCouponError } from '../error-handler.js';
import type { AnswerHook } from '../metrics.js';
import { ErrorCode } from '../../../errors.js';
import { errorResponses } from '../openapi.js';
import { ErrorResponse, IssueRequest, SuccessResponse } from '../schemas.js';

export const OK = { isSuccess: true, comment: null } as const;

/**
 * Body validation and compiled serializers of both issue routes; the bench's baseline uses it too.
 * Error bodies get a compiled serializer as well: most answers of a flood are 409s.
 */
export function issueRouteSchema(successStatus: 200 | 202) {
  return {
    tags: ['issue'],
    summary: successStatus === 200 ? 'Issue a coupon now: in MySQL before the 200' : 'Reserve a coupon in Redis; the consumer persists it',
    body: IssueRequest,
    response: {
      [successStatus]: SuccessResponse,
      ...errorResponses({
        404: [ErrorCode.COUPON_NOT_EXIST],
        409: [ErrorCode.DUPLICATED_COUPON_ISSUE, ErrorCode.INVALID_COUPON_ISSUE_QUANTITY, ErrorCode.INVALID_COUPON_ISSUE_DATE, ErrorCode.COUPON_ISSUE_MODE_MISMATCH],
        413: [ErrorCode.INVALID_REQUEST],
        415: [ErrorCode.INVALID_REQUEST],
      }),
      // Any other status (another part's 401 or 429, say) still gets the compiled serializer.
      '4xx': ErrorResponse,
      '5xx': ErrorResponse,
    },
  };
}

/** `onAnswer` (absent with METRICS_ENABLED=0) records every answer, refusals and faults included. */
export function registerIssueRoutes(app: FastifyInstance, strategy: IssueStrategy, reserver: Reserver, onAnswer?: AnswerHook): void {
  app.post<{ Body: IssueRequest }>('/v1/issue', {
    ...(onAnswer && { onResponse: onAnswer('sync') }),
    schema: issueRouteSchema(200),
  }, async (req) => {
    await strategy.issue(req.body.couponId, req.body.userId);
    return OK;
  });

  // Accepted once reserved in Redis and queued in its stream; the consumer writes it to MySQL.
  app.post<{ Body: IssueRequest }>('/v1/issue-async', {
    ...(onAnswer && { onResponse: onAnswer('async') }),
    schema: issueRouteSchema(202),
  }, async (req, reply) => {
    // Refusals come back as values here: throwing each of a flood's 409s halved throughput (docs/benchmarks.md).
    const refusal = await reserver.decide(req.body.couponId, req.body.userId);
    return refusal ? sendCouponError(reply, refusal) : reply.status(202).send(OK);
  });
}
