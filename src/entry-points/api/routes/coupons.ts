import type { FastifyInstance } from 'fastify';
import type { Coupon, CouponChange } from '../../../domain/coupon.js';
import { closeCoupon, listCoupons, updateCoupon } from '../../../domain/coupon-admin.service.js';
import { createCoupon, getCoupon, getIssueStatus, type CouponServiceDeps } from '../../../domain/coupon.service.js';
import { ErrorCode, InvalidRequestError } from '../../../errors.js';
import { adminOnly } from '../auth.js';
import type { Identity } from '../identity.js';
import { errorResponses, idParams } from '../openapi.js';
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

const ADMIN = [{ adminToken: [] }];

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
    schema: { tags: ['admin'], summary: 'Open a coupon event', security: ADMIN, body: CreateCouponRequest, response: { 201: CouponResponse, ...errorResponses({ 401: [ErrorCode.UNAUTHORIZED] }) } },
  }, async (req, reply) => {
    const c = parseChange(req.body) as Required<CouponChange>;
    if (c.dateIssueEnd <= c.dateIssueStart) throw new InvalidRequestError('dateIssueEnd must be after dateIssueStart');
    return reply.status(201).send(await saved(await createCoupon(deps, c), true));
  });

  app.get<{ Querystring: ListCouponsQuery }>('/v1/coupons', {
    onRequest: admin,
    schema: { tags: ['admin'], summary: 'Coupon events, newest first', security: ADMIN, querystring: ListCouponsQuery, response: { 200: CouponPageResponse, ...errorResponses({ 401: [ErrorCode.UNAUTHORIZED] }) } },
  }, async (req) => {
    const limit = req.query.limit === undefined ? 20 : parseLimit(req.query.limit, 100);
    const after = req.query.after === undefined ? null : parseId(req.query.after, 'after');
    const page = await listCoupons(deps, limit, after);
    return { items: page.items.map(toJson), next: page.next };
  });

  app.patch<{ Params: { couponId: string }; Body: PatchCouponRequest }>('/v1/coupons/:couponId', {
    onRequest: admin,
    schema: {
      tags: ['admin'], summary: 'Change an event (any creation field)', security: ADMIN, params: idParams('couponId'), body: PatchCouponRequest,
      response: { 200: CouponResponse, ...errorResponses({ 401: [ErrorCode.UNAUTHORIZED], 404: [ErrorCode.COUPON_NOT_EXIST], 409: [ErrorCode.QUANTITY_BELOW_ISSUED] }) },
    },
  }, async (req) => saved(await updateCoupon(deps, parseId(req.params.couponId, 'couponId'), parseChange(req.body))));

  app.post<{ Params: { couponId: string } }>('/v1/coupons/:couponId/close', {
    onRequest: admin,
    schema: {
      tags: ['admin'], summary: 'End the window now', security: ADMIN, params: idParams('couponId'),
      response: { 200: CouponResponse, ...errorResponses({ 401: [ErrorCode.UNAUTHORIZED], 404: [ErrorCode.COUPON_NOT_EXIST] }) },
    },
  }, async (req) => saved(await closeCoupon(deps, parseId(req.params.couponId, 'couponId'))));

  app.get<{ Params: { couponId: string } }>('/v1/coupons/:couponId', {
    schema: { tags: ['coupons'], summary: 'One coupon event', params: idParams('couponId'), response: { 200: CouponResponse, ...errorResponses({ 404: [ErrorCode.COUPON_NOT_EXIST] }) } },
  }, async (req) => toJson(await getCoupon(deps, parseId(req.params.couponId, 'couponId'))));

  app.get<{ Params: { couponId: string; userId: string } }>('/v1/coupons/:couponId/issues/:userId', {
    onRequest: identity.onRequest,
    schema: {
      tags: ['coupons'], summary: 'Whether a user holds the coupon: ISSUED, PENDING until the consumer wrote it, or FAILED', params: idParams('couponId', 'userId'),
      response: { 200: IssueStatusResponse, ...errorResponses({ 401: [ErrorCode.UNAUTHORIZED], 403: [ErrorCode.FORBIDDEN], 404: [ErrorCode.COUPON_ISSUE_NOT_EXIST] }) },
    },
  }, async (req) => {
    const couponId = parseId(req.params.couponId, 'couponId');
    const s = await getIssueStatus(deps, couponId, identity.userFor(req, parseId(req.params.userId, 'userId')));
    return { ...s, dateIssued: s.dateIssued.toISOString() };
  });
}
