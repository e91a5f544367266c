import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import type { IssueStrategy } from '../../strategies/index.js';
import { IssueRequest, SuccessResponse } from '../schemas.js';

const OK = { isSuccess: true, comment: null } as const;

export function registerIssueRoutes(app: FastifyInstance, _deps: Deps, strategy: IssueStrategy): void {
  app.post<{ Body: IssueRequest }>('/v1/issue', {
    schema: { body: IssueRequest, response: { 200: SuccessResponse } },
  }, async (req) => {
    await strategy.issue(req.body.couponId, req.body.userId);
    return OK;
  });
}
