import type { FastifyInstance } from 'fastify';
import type { Reserver } from '../../../async-issue/reserver.js';
import type { RateLimiter } from '../../../rate-limit/rate-limiter.js';
import type { IssueStrategy } from '../../../sync-issue/index.js';
import { sendCouponError } from '../error-handler.js';
import type { Identity } from '../identity.js';
import { ErrorResponse, IssueRequest, IssueRequestOfTokenUser, SuccessResponse } from '../schemas.js';

const OK = { isSuccess: true, comment: null } as const;
// Error bodies get a compiled serializer too: most answers of a flood are 409s.
const ERRORS = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

export interface IssueRouteDeps {
  readonly strategy: IssueStrategy;
  readonly reserver: Reserver;
  readonly identity: Identity;
  /** The sync path's limits; the reserver counts the async path's inside its script. */
  readonly limiter: RateLimiter;
  readonly now: () => Date;
}

export function registerIssueRoutes(app: FastifyInstance, d: IssueRouteDeps): void {
  const body = d.identity.mode === 'jwt' ? IssueRequestOfTokenUser : IssueRequest;
  const onRequest = d.identity.onRequest;

  app.post<{ Body: IssueRequestOfTokenUser }>('/v1/issue', {
    onRequest,
    schema: { body, response: { 200: SuccessResponse, ...ERRORS } },
  }, async (req) => {
    const userId = d.identity.userFor(req, req.body.userId);
    const limited = await d.limiter.check(req.body.couponId, userId, req.ip, d.now().getTime());
    if (limited) throw limited;
    await d.strategy.issue(req.body.couponId, userId);
    return OK;
  });

  // Accepted once reserved in Redis and queued in its stream; the consumer writes it to MySQL.
  app.post<{ Body: IssueRequestOfTokenUser }>('/v1/issue-async', {
    onRequest,
    schema: { body, response: { 202: SuccessResponse, ...ERRORS } },
  }, async (req, reply) => {
    // Refusals come back as values here: throwing each of a flood's 409s halved throughput (docs/benchmarks.md).
    const refusal = await d.reserver.decide(req.body.couponId, d.identity.userFor(req, req.body.userId), req.ip);
    return refusal ? sendCouponError(reply, refusal) : reply.status(202).send(OK);
  });
}
