import { setTimeout as sleep } from 'node:timers/promises';
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

/** Reads the entries never delivered, across the coupons the consumer lists. */
export interface NewEntries {
  /** Waits up to the reader's block time for entries of any of these coupons; [] when none came. */
  read(couponIds: readonly number[]): Promise<StreamEntry[]>;
  /** Ends a wait in progress and releases the reader's connection. */
  close(): Promise<void>;
}

/** A Redis error naming a stream without the consumer group: the stream (or Redis's data) is gone. */
const NOGROUP_KEY = /NOGROUP No such key '(.*)' or consumer group/;

/**
 * One Redis node: one XREADGROUP ... BLOCK for every listed stream, woken by the first entry in any
 * of them, so idle costs one command per block time whatever the number of coupons. It blocks on a
 * connection of its own (a blocked connection serves nothing else), which CLIENT UNBLOCK releases on
 * close: the wait returns like a timeout, so no entry is delivered into a reply nobody reads.
 */
class BlockingNewEntries implements NewEntries {
  private conn: Redis | undefined;
  private connId: number | undefined;
  private closing: Promise<void> | undefined;
  private readonly idle = new AbortController();

  constructor(
    private readonly main: Redis,
    private readonly keys: Keys,
    private readonly consumer: string,
    private readonly count: number,
    private readonly blockMs: number,
  ) {}

  async read(couponIds: readonly number[]): Promise<StreamEntry[]> {
    if (this.closing) return [];
    const byKey = new Map(couponIds.map((id) => [this.keys.stream(id), id]));
    for (;;) {
      const keys = [...byKey.keys()];
      if (this.closing) return [];
      if (keys.length === 0) {
        // Nothing to block on: wait as long as a blocking read would (stop() ends it).
        await sleep(this.blockMs, undefined, { signal: this.idle.signal }).catch(() => undefined);
        return [];
      }
      const conn = this.connection();
      this.connId ??= Number(await conn.client('ID'));
      try {
        const reply = (await conn.xreadgroup(
          'GROUP', CONSUMER_GROUP, this.consumer, 'COUNT', this.count, 'BLOCK', this.blockMs,
          'STREAMS', ...keys, ...keys.map(() => '>'),
        )) as StreamReply;
        return (reply ?? []).flatMap(([key, entries]) => entries.map(([id, fields]) => parseEntry(byKey.get(key)!, id, fields)));
      } catch (err) {
        // One stream without its group fails the whole call: read the others (it holds nothing to read).
        const missing = NOGROUP_KEY.exec((err as Error).message)?.[1];
        if (missing === undefined || !byKey.delete(missing)) throw err;
      }
    }
  }

  private connection(): Redis {
    if (!this.conn) {
      const conn = this.main.duplicate();
      conn.on('error', () => undefined); // the main connection logs Redis being away
      conn.on('ready', () => { this.connId = undefined; }); // a reconnect has a new id
      this.conn = conn;
    }
    return this.conn;
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    this.idle.abort();
    const conn = this.conn;
    if (!conn) return;
    if (this.connId !== undefined) await this.main.client('UNBLOCK', this.connId).catch(() => undefined);
    // QUIT is answered after the wait in progress: its entries, if any, still reach the consumer.
    await conn.quit().catch(() => conn.disconnect());
  }
}

const POLL_BACKOFF_MIN_MS = 10;
const POLL_BACKOFF_MAX_MS = 1000;

/**
 * Redis Cluster: a multi-key command must keep to one hash slot, and each coupon has its own, so
 * each stream is read on its own (the reads sent together, non-blocking). A stream found empty is
 * read again after a delay doubling up to a second: idle costs at most one read per coupon a second.
 */
class PollingNewEntries implements NewEntries {
  private next = new Map<number, { at: number; backoffMs: number }>();
  private readonly idle = new AbortController();
  private closed = false;

  constructor(private readonly streams: ReservationStreams, private readonly consumer: string, private readonly count: number, private readonly blockMs: number) {}

  async read(couponIds: readonly number[]): Promise<StreamEntry[]> {
    if (this.closed) return [];
    const now = Date.now();
    const due = couponIds.filter((id) => (this.next.get(id)?.at ?? 0) <= now);
    if (due.length === 0) {
      const soonest = couponIds.reduce((at, id) => Math.min(at, this.next.get(id)!.at), now + this.blockMs);
      await sleep(soonest - now, undefined, { signal: this.idle.signal }).catch(() => undefined);
      return [];
    }
    const replies = await Promise.all(due.map((id) => this.streams.read(id, this.consumer, '>', this.count)));
    const next = new Map(couponIds.flatMap((id) => (this.next.has(id) ? [[id, this.next.get(id)!] as const] : [])));
    due.forEach((id, i) => {
      const backoffMs = replies[i]!.length > 0 ? 0 : Math.min(Math.max((this.next.get(id)?.backoffMs ?? 0) * 2, POLL_BACKOFF_MIN_MS), POLL_BACKOFF_MAX_MS);
      next.set(id, { at: now + backoffMs, backoffMs });
    });
    this.next = next; // coupons no longer listed are forgotten
    return replies.flat();
  }

  close(): Promise<void> {
    this.closed = true;
    this.idle.abort();
    return Promise.resolve();
  }
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

  /**
   * The reader of new entries this Redis allows: one blocking read for all streams on one node,
   * one read per stream in a cluster (see the two classes above).
   */
  newEntries(consumer: string, count: number, blockMs: number): NewEntries {
    return this.redis.isCluster
      ? new PollingNewEntries(this, consumer, count, blockMs)
      : new BlockingNewEntries(this.redis, this.keys, consumer, count, blockMs);
  }

  /** Of these coupons, those whose streams hold entries delivered and not acknowledged (one XPENDING each, sent together). */
  async withPending(couponIds: readonly number[]): Promise<number[]> {
    const counts = await Promise.all(couponIds.map((id) => this.redis.xpending(this.keys.stream(id), CONSUMER_GROUP)
      .then((summary) => Number((summary as [number, ...unknown[]])[0]))
      .catch(emptyWhenNoGroup(0))));
    return couponIds.filter((_, i) => counts[i]! > 0);
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
