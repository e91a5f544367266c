import type { FastifyInstance } from 'fastify';
import type { Coupon, CouponChange } from '../../../domain/coupon.js';
import { closeCoupon, listCoupons, updateCoupon } from '../../../domain/coupon-admin.service.js';
import { createCoupon, getCoupon, getIssueStatus, type CouponServiceDeps } from '../../../domain/coupon.service.js';
import { InvalidRequestError } from '../../../errors.js';
import { adminOnly } from '../auth.js';
import type { Identity } from '../identity.js';
import { parseId, parseIsoDate, parseLimit } from '../params.js';
import {
  CouponPageResponse, CouponResponse, CreateCouponRequest, IssueStatusResponse, ListCouponsQuery, PatchCouponRequest,
} from '../schemas.js';

function toJson(c: Coupon) {
  return {
    ...c,
    dateIssueStart: c.dateIssueStart.toISOString(),
    dateIssueEnd: c.dateIssueEnd.toISOString(),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** The fields a body gives, dates parsed, waiting-room defaults filled in; the same rules at creation and in a PATCH. */
function parseChange(b: PatchCouponRequest): CouponChange {
  const { dateIssueStart, dateIssueEnd, waitingRoom, ...rest } = b;
  return {
    ...rest,
    ...(waitingRoom === undefined ? {} : {
      waitingRoom: waitingRoom && { admissionTtlSeconds: waitingRoom.admissionTtlSeconds ?? 120, preQueueSeconds: waitingRoom.preQueueSeconds ?? 0 },
    }),
    ...(dateIssueStart === undefined ? {} : { dateIssueStart: parseIsoDate(dateIssueStart, 'dateIssueStart') }),
    ...(dateIssueEnd === undefined ? {} : { dateIssueEnd: parseIsoDate(dateIssueEnd, 'dateIssueEnd') }),
  };
}

/** Told of every coupon an admin call created or changed (the waiting room follows its terms). */
export type CouponSavedHook = (coupon: Coupon, created: boolean) => Promise<void>;

export function registerCouponRoutes(
  app: FastifyInstance, deps: CouponServiceDeps, adminToken: string | undefined, identity: Identity,
  onSaved: CouponSavedHook = async () => undefined,
): void {
  // Authenticated first, before the body is even read: an unauthenticated caller learns nothing, not the schema.
  const admin = adminOnly(adminToken);
  const saved = async (c: Coupon, created = false) => {
    await onSaved(c, created);
    return toJson(c);
  };

  app.post<{ Body: CreateCouponRequest }>('/v1/coupons', {
    onRequest: admin,
    schema: { body: CreateCouponRequest, response: { 201: CouponResponse } },
  }, async (req, reply) => {
    const c = parseChange(req.body) as Required<CouponChange>;
    if (c.dateIssueEnd <= c.dateIssueStart) throw new InvalidRequestError('dateIssueEnd must be after dateIssueStart');
    return reply.status(201).send(await saved(await createCoupon(deps, c), true));
  });

  app.get<{ Querystring: ListCouponsQuery }>('/v1/coupons', {
    onRequest: admin,
    schema: { querystring: ListCouponsQuery, response: { 200: CouponPageResponse } },
  }, async (req) => {
    const limit = req.query.limit === undefined ? 20 : parseLimit(req.query.limit, 100);
    const after = req.query.after === undefined ? null : parseId(req.query.after, 'after');
    const page = await listCoupons(deps, limit, after);
    return { items: page.items.map(toJson), next: page.next };
  });

  app.patch<{ Params: { couponId: string }; Body: PatchCouponRequest }>('/v1/coupons/:couponId', {
    onRequest: admin,
    schema: { body: PatchCouponRequest, response: { 200: CouponResponse } },
  }, async (req) => saved(await updateCoupon(deps, parseId(req.params.couponId, 'couponId'), parseChange(req.body))));

  app.post<{ Params: { couponId: string } }>('/v1/coupons/:couponId/close', {
    onRequest: admin,
    schema: { response: { 200: CouponResponse } },
  }, async (req) => saved(await closeCoupon(deps, parseId(req.params.couponId, 'couponId'))));

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
