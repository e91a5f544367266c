import type { FastifyInstance } from 'fastify';
import type { Coupon } from '../../../domain/coupon.js';
import { createCoupon, getCoupon, getIssueStatus, type CouponServiceDeps } from '../../../domain/coupon.service.js';
import { InvalidRequestError } from '../../../errors.js';
import { adminOnly } from '../auth.js';
import type { Identity } from '../identity.js';
import { parseId, parseIsoDate } from '../params.js';
import { CouponResponse, CreateCouponRequest, IssueStatusResponse } from '../schemas.js';

function toJson(c: Coupon) {
  return {
    ...c,
    dateIssueStart: c.dateIssueStart.toISOString(),
    dateIssueEnd: c.dateIssueEnd.toISOString(),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function registerCouponRoutes(app: FastifyInstance, deps: CouponServiceDeps, adminToken: string | undefined, identity: Identity): void {
  app.post<{ Body: CreateCouponRequest }>('/v1/coupons', {
    onRequest: adminOnly(adminToken),
    schema: { body: CreateCouponRequest, response: { 201: CouponResponse } },
  }, async (req, reply) => {
    const b = req.body;
    const dateIssueStart = parseIsoDate(b.dateIssueStart, 'dateIssueStart');
    const dateIssueEnd = parseIsoDate(b.dateIssueEnd, 'dateIssueEnd');
    if (dateIssueEnd <= dateIssueStart) throw new InvalidRequestError('dateIssueEnd must be after dateIssueStart');
    const coupon = await createCoupon(deps, {
      title: b.title,
      totalQuantity: b.totalQuantity,
      discountAmount: b.discountAmount,
      minAvailableAmount: b.minAvailableAmount,
      dateIssueStart,
      dateIssueEnd,
    });
    return reply.status(201).send(toJson(coupon));
  });

  app.get<{ Params: { couponId: string } }>('/v1/coupons/:couponId', {
    schema: { response: { 200: CouponResponse } },
  }, async (req) => toJson(await getCoupon(deps, parseId(req.params.couponId, 'couponId'))));

  app.get<{ Params: { couponId: string; userId: string } }>('/v1/coupons/:couponId/issues/:userId', {
    onRequest: identity.onRequest,
    schema: { response: { 200: IssueStatusResponse } },
  }, async (req) => {
    const couponId = parseId(req.params.couponId, 'couponId');
    const s = await getIssueStatus(deps, couponId, identity.userFor(req, parseId(req.params.userId, 'userId')));
    return { ...s, dateIssued: s.dateIssued.toISOString() };
  });
}
