import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { QueueTicket, WaitingRoom } from '../../../waiting-room/waiting-room.service.js';
import { parseId } from '../params.js';
import { JoinQueueRequest, QueueTicketResponse } from '../schemas.js';

/**
 * Who is joining: the body's userId, as the issue endpoints take it today. The one place to swap
 * for the token's user when AUTH_MODE=jwt lands.
 */
export function queueUserOf(req: FastifyRequest<{ Body: JoinQueueRequest }>): number {
  return req.body.userId;
}

const toJson = (t: QueueTicket) => ({ ...t, admittedUntil: t.admittedUntil?.toISOString() ?? null });

/** The waiting room (issue #13): join a coupon's line, then poll the ticket until ADMITTED. */
export function registerQueueRoutes(app: FastifyInstance, room: WaitingRoom): void {
  app.post<{ Params: { couponId: string }; Body: JoinQueueRequest }>('/v1/coupons/:couponId/queue', {
    schema: { body: JoinQueueRequest, response: { '2xx': QueueTicketResponse } },
  }, async (req, reply) => {
    const r = await room.join(parseId(req.params.couponId, 'couponId'), queueUserOf(req));
    return reply.status(r.created ? 201 : 200).send(toJson(r.ticket));
  });

  app.get<{ Params: { couponId: string; ticket: string } }>('/v1/coupons/:couponId/queue/:ticket', {
    schema: { response: { 200: QueueTicketResponse } },
  }, async (req) => toJson(await room.status(parseId(req.params.couponId, 'couponId'), req.params.ticket)));
}
