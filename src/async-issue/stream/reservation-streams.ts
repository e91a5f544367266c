import type { Redis } from '../../adapters/redis/client.js';
import { CONSUMER_GROUP, type Keys } from '../../adapters/redis/keys.js';
import type { Scripts } from '../../adapters/redis/scripts.js';
import { entryUserId, parseEntry, type MalformedEntry, type ReservationEntry } from './reservation-entry.js';

export type StreamEntry = ReservationEntry | MalformedEntry;

export interface ReservationBacklog {
  /** Units reserved (the users hash's length): persisted or not. */
  readonly reserved: number;
  /** Entries in the stream: acknowledged ones are deleted, so these are queued or pending. */
  readonly queued: number;
  /** Delivered to a consumer, not yet acknowledged (XPENDING); the rest of `queued` is the lag. */
  readonly pending: number;
}

type StreamReply = [string, [string, string[]][]][] | null;

export interface StreamClient {
  readonly redis: Redis;
  readonly scripts: Pick<Scripts, 'ackEntries' | 'readBacklogs'>;
  readonly keys: Keys;
}

/** A stream or group that does not exist yet (or was lost with Redis's data) holds nothing to read. */
function emptyWhenNoGroup<T>(empty: T): (err: Error) => T {
  return (err) => {
    if (err.message.includes('NOGROUP')) return empty;
    throw err;
  };
}

/**
 * Every stream command of the async path, typed: the coupons' reservation streams read through one
 * consumer group, and the set of coupons that have one.
 */
export class ReservationStreams {
  constructor(private readonly client: StreamClient) {}

  private get redis(): Redis {
    return this.client.redis;
  }

  private get keys(): Keys {
    return this.client.keys;
  }

  /** from '>' reads entries never delivered; '0' re-reads this consumer's own unacknowledged ones. */
  async read(couponId: number, consumer: string, from: '>' | '0', count: number): Promise<StreamEntry[]> {
    const reply = (await this.redis.xreadgroup(
      'GROUP', CONSUMER_GROUP, consumer, 'COUNT', count, 'STREAMS', this.keys.stream(couponId), from,
    ).catch(emptyWhenNoGroup(null))) as StreamReply;
    return (reply?.[0]?.[1] ?? []).map(([id, fields]) => parseEntry(couponId, id, fields));
  }

  /** Takes over entries idle at other consumers for at least minIdleMs; pass the returned cursor back until it is '0-0'. */
  async claimIdle(couponId: number, consumer: string, minIdleMs: number, cursor: string, count: number): Promise<{ cursor: string; entries: StreamEntry[] }> {
    const reply = (await this.redis.xautoclaim(
      this.keys.stream(couponId), CONSUMER_GROUP, consumer, minIdleMs, cursor, 'COUNT', count,
    ).catch(emptyWhenNoGroup(['0-0', []]))) as [string, [string, string[]][]];
    return { cursor: reply[0], entries: reply[1].map(([id, fields]) => parseEntry(couponId, id, fields)) };
  }

  /** How many times each pending entry between two ids was delivered. */
  async deliveryCounts(couponId: number, fromId: string, toId: string, count: number): Promise<Map<string, number>> {
    const rows = (await this.redis.xpending(this.keys.stream(couponId), CONSUMER_GROUP, fromId, toId, count)) as [string, string, number, number][];
    return new Map(rows.map(([id, , , delivered]) => [id, Number(delivered)]));
  }

  /** Acknowledges and deletes: the stream then holds only what is unread or in a consumer's hands. */
  async acknowledge(couponId: number, entryIds: readonly string[]): Promise<void> {
    await this.client.scripts.ackEntries(couponId, entryIds);
  }

  /** Users whose entries wait in the stream, unread or unacknowledged (acknowledged ones are deleted). */
  async queuedUsers(couponId: number): Promise<Set<number>> {
    const entries = await this.redis.xrange(this.keys.stream(couponId), '-', '+');
    const users = new Set<number>();
    for (const [, fields] of entries) {
      const userId = entryUserId(fields);
      if (!Number.isNaN(userId)) users.add(userId);
    }
    return users;
  }

  /**
   * The coupons' reservations and streams, each coupon's read atomically (a reservation made meanwhile
   * counts in all three or in none), every coupon in one round trip.
   */
  async backlogs(couponIds: readonly number[]): Promise<Map<number, ReservationBacklog>> {
    const replies = await this.client.scripts.readBacklogs(couponIds);
    return new Map(couponIds.map((id, i) => {
      const [reserved, queued, pending] = replies[i]!;
      return [id, { reserved, queued, pending }];
    }));
  }

  async length(couponId: number): Promise<number> {
    return this.redis.xlen(this.keys.stream(couponId));
  }

  /** Coupons whose streams the consumers poll. */
  async activeCoupons(): Promise<number[]> {
    return (await this.redis.smembers(this.keys.activeCoupons)).map(Number);
  }

  async activate(couponId: number): Promise<void> {
    await this.redis.sadd(this.keys.activeCoupons, String(couponId));
  }

  async deactivate(couponId: number): Promise<void> {
    await this.redis.srem(this.keys.activeCoupons, String(couponId));
  }
}
