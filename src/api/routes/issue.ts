import type { FastifyInstance } from 'fastify';
import type { Reserver } from '../../reservations/reserve.js';
import type { IssueStrategy } from '../../strategies/index.js';
import { IssueRequest, SuccessResponse } from '../schemas.js';

const OK = { isSuccess: true, comment: null } as const;

export function registerIssueRoutes(app: FastifyInstance, strategy: IssueStrategy, reserver: Reserver): void {
  app.post<{ Body: IssueRequest }>('/v1/issue', {
    schema: { body: IssueRequest, response: { 200: SuccessResponse } },
  }, async (req) => {
    await strategy.issue(req.body.couponId, req.body.userId);
    return OK;
  });

  // Accepted once reserved in Redis and queued in its stream; the consumer writes it to MySQL.
  app.post<{ Body: IssueRequest }>('/v1/issue-async', {
    schema: { body: IssueRequest, response: { 202: SuccessResponse } },
  }, async (req, reply) => {
    await reserver.reserve(req.body.couponId, req.body.userId);
    return reply.status(202).send(OK);
  });
}
