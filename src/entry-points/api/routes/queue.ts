import type { FastifyInstance } from 'fastify';
import type { QueueTicket, WaitingRoom } from '../../../waiting-room/waiting-room.service.js';
import { ErrorCode } from '../../../errors.js';
import type { Identity } from '../identity.js';
import { errorResponses, idParams } from '../openapi.js';
import { parseId } from '../params.js';
import { JoinQueueRequest, JoinQueueRequestOfTokenUser, QueueTicketResponse } from '../schemas.js';

const toJson = (t: QueueTicket) => ({ ...t, admittedUntil: t.admittedUntil?.toISOString() ?? null });

/** The waiting room (issue #13): join a coupon's line, then poll the ticket until ADMITTED. */
export function registerQueueRoutes(app: FastifyInstance, room: WaitingRoom, identity: Identity): void {
  // Who joins is who is asking: with AUTH_MODE=jwt the token's user, as on the issue endpoints.
  app.post<{ Params: { couponId: string }; Body: JoinQueueRequestOfTokenUser }>('/v1/coupons/:couponId/queue', {
    onRequest: identity.onRequest,
    schema: {
      tags: ['waiting room'], summary: 'Join a coupon\'s line (again: the same ticket)', params: idParams('couponId'),
      body: identity.mode === 'jwt' ? JoinQueueRequestOfTokenUser : JoinQueueRequest,
      response: {
        '2xx': QueueTicketResponse,
        ...errorResponses({
          401: [ErrorCode.UNAUTHORIZED], 403: [ErrorCode.FORBIDDEN], 404: [ErrorCode.COUPON_NOT_EXIST],
          409: [ErrorCode.NO_WAITING_ROOM, ErrorCode.INVALID_COUPON_ISSUE_DATE, ErrorCode.INVALID_COUPON_ISSUE_QUANTITY],
        }),
      },
    },
  }, async (req, reply) => {
    const r = await room.join(parseId(req.params.couponId, 'couponId'), identity.userFor(req, req.body.userId));
    return reply.status(r.created ? 201 : 200).send(toJson(r.ticket));
  });

  app.get<{ Params: { couponId: string; ticket: string } }>('/v1/coupons/:couponId/queue/:ticket', {
    schema: {
      tags: ['waiting room'], summary: 'A ticket\'s place in line; ask again after retryAfterMs',
      response: { 200: QueueTicketResponse, ...errorResponses({ 404: [ErrorCode.TICKET_NOT_EXIST] }) },
    },
  }, async (req) => toJson(await room.status(parseId(req.params.couponId, 'couponId'), req.params.ticket)));
}
