import type { Redis } from '../adapters/redis/client.js';
import { CONSUMER_GROUP, type Keys } from '../adapters/redis/keys.js';

export interface ReservationBacklog {
  /** Units reserved (the users hash's length): persisted or not. */
  readonly reserved: number;
  /** Entries in the stream: acknowledged ones are deleted, so these are queued or pending. */
  readonly queued: number;
  /** Delivered to a consumer, not yet acknowledged (XPENDING); the rest of `queued` is the lag. */
  readonly pending: number;
}

/**
 * A coupon's reservations and its stream, read in one transaction (the keys share a hash slot): a
 * reservation made meanwhile counts in all three or in none.
 */
export async function readReservationBacklog(client: { redis: Redis; keys: Keys }, couponId: number): Promise<ReservationBacklog> {
  const { redis, keys } = client;
  const replies = await redis.multi()
    .hlen(keys.users(couponId))
    .xlen(keys.stream(couponId))
    .xpending(keys.stream(couponId), CONSUMER_GROUP)
    .exec();
  const [[, reserved], [, queued], [pendingErr, summary]] = replies as [[null, number], [null, number], [Error | null, [number, ...unknown[]] | null]];
  // No stream or group yet (or lost with Redis's data): nothing is pending.
  if (pendingErr && !pendingErr.message.includes('NOGROUP')) throw pendingErr;
  return { reserved: Number(reserved), queued: Number(queued), pending: Number(summary?.[0] ?? 0) };
}
