import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { withTransaction } from '../db/pool.js';
import * as repo from '../coupons/coupon.repository.js';
import type { Deps } from '../deps.js';
import { isDataError, isInfrastructureError } from '../errors.js';
import { CONSUMER_GROUP } from '../redis/keys.js';

export interface ConsumerOptions {
  readonly name: string;
  readonly batchSize: number;
  /** An entry unacknowledged this long is taken over from its (presumed dead) consumer. */
  readonly claimIdleMs: number;
  /** A data error (MySQL refusing the values) retried this many times isolates the batch entry by entry; failures go to the dead-letter stream. */
  readonly maxAttempts: number;
  /** An entry delivered this many times (its consumers kept dying on it) is dead-lettered without another try. */
  readonly maxDeliveries: number;
  /** How often finished coupons are dropped from the polling list (default 30 s). */
  readonly pruneEveryMs?: number;
}

interface Entry {
  readonly couponId: number;
  readonly id: string;
  readonly userId: number;
  readonly reservedAt: Date;
}

interface Poison {
  readonly couponId: number;
  readonly id: string;
  readonly fields: string[];
  readonly reason: string;
}

export interface ConsumerStats {
  persisted: number;
  duplicatesSkipped: number;
  deadLettered: number;
  batches: number;
  reclaimed: number;
}

const PRUNE_EVERY_MS = 30_000;
const PRUNE_GRACE_MS = 60_000;

type StreamReply = [string, [string, string[]][]][] | null;

function parseEntry(couponId: number, id: string, fields: string[]): Entry | Poison {
  const get = (k: string) => fields[fields.indexOf(k) + 1];
  const userId = Number(get('u'));
  const reservedAt = Number(get('t'));
  if (!Number.isSafeInteger(userId) || userId < 1 || !Number.isFinite(reservedAt)) {
    return { couponId, id, fields, reason: 'malformed entry: u and t must be numbers' };
  }
  return { couponId, id, userId, reservedAt: new Date(reservedAt) };
}

const isPoison = (e: Entry | Poison): e is Poison => 'reason' in e;

function groupByCoupon<T extends { couponId: number }>(entries: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const e of entries) {
    const group = groups.get(e.couponId);
    if (group) group.push(e);
    else groups.set(e.couponId, [e]);
  }
  return groups;
}

/**
 * Drains the coupons' reservation streams into MySQL through a consumer group. An entry is
 * acknowledged (and deleted) only after its batch committed, so a crash replays at most the batch
 * in hand, and the unique key makes a replay harmless. MySQL being away is waited out, never
 * dead-lettered; an entry that keeps failing for its own sake is parked in the dead-letter stream.
 */
export class PersistConsumer {
  readonly stats: ConsumerStats = { persisted: 0, duplicatesSkipped: 0, deadLettered: 0, batches: 0, reclaimed: 0 };
  private stopping = false;
  /** Acknowledgements of committed batches still on their way; they overlap the next batch's work. */
  private readonly acks = new Set<Promise<void>>();
  private activeCoupons: number[] = [];
  private activeCouponsReadAt = 0;
  private lastClaimAt = 0;
  private lastPruneAt = Date.now();

  constructor(private readonly deps: Deps, private readonly opts: ConsumerOptions) {}

  static defaultName(): string {
    return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Asks the loop to stop after the batch in hand. */
  stop(): void {
    this.stopping = true;
  }

  /** Runs until stop(); resolves once the batch in hand is committed and acknowledged. */
  async run(): Promise<void> {
    await this.recoverOwnPending();
    let idleMs = 1;
    while (!this.stopping) {
      let handled = 0;
      try {
        handled = await this.pollOnce();
      } catch (err) {
        // Redis away or a bug outside a batch: nothing was acknowledged, so waiting and retrying loses nothing.
        this.deps.log.warn({ err: (err as Error).message }, 'consumer poll failed; retrying');
        await sleep(500);
      }
      idleMs = handled > 0 ? 1 : Math.min(idleMs * 2, 50);
      if (handled === 0 && !this.stopping) await sleep(idleMs);
    }
    await Promise.all(this.acks);
  }

  /** One round: reclaim what dead consumers left, read new entries, persist them. Returns how many entries it handled. */
  private async pollOnce(): Promise<number> {
    const coupons = await this.listActiveCoupons();
    if (coupons.length === 0) return 0;
    let handled = 0;
    if (Date.now() - this.lastClaimAt >= Math.min(this.opts.claimIdleMs / 2, 5000)) {
      this.lastClaimAt = Date.now();
      for (const couponId of coupons) handled += await this.reclaim(couponId);
    }
    const replies = await Promise.all(coupons.map((couponId) => this.read(couponId, '>')));
    const entries = replies.flat();
    if (entries.length) await this.handle(entries);
    return handled + entries.length;
  }

  /**
   * Stops polling coupons whose window closed a while ago and whose stream is empty: the script
   * refuses after the end, so nothing more can arrive (the grace covers clock skew between APIs).
   */
  private async pruneFinishedCoupons(): Promise<void> {
    for (const couponId of this.activeCoupons) {
      const [end, queued] = await Promise.all([
        this.deps.redis.hget(this.deps.keys.rules(couponId), 'end'),
        this.deps.redis.xlen(this.deps.keys.stream(couponId)),
      ]);
      if (end !== null && queued === 0 && Number(end) + PRUNE_GRACE_MS < Date.now()) {
        await this.deps.redis.srem(this.deps.keys.activeCoupons, String(couponId));
      }
    }
  }

  /** A consumer restarted under its old name first finishes what it had read but not acknowledged. */
  private async recoverOwnPending(): Promise<void> {
    for (;;) {
      try {
        const coupons = await this.listActiveCoupons();
        for (const couponId of coupons) {
          for (;;) {
            const own = await this.read(couponId, '0');
            if (own.length === 0 || this.stopping) break;
            this.stats.reclaimed += own.length;
            await this.handle(own);
          }
        }
        return;
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'recovering own pending entries failed; retrying');
        await sleep(500);
        if (this.stopping) return;
      }
    }
  }

  private async listActiveCoupons(): Promise<number[]> {
    if (Date.now() - this.lastPruneAt > (this.opts.pruneEveryMs ?? PRUNE_EVERY_MS)) {
      this.lastPruneAt = Date.now();
      await this.pruneFinishedCoupons();
      this.activeCouponsReadAt = 0;
    }
    if (Date.now() - this.activeCouponsReadAt > 1000) {
      this.activeCoupons = (await this.deps.redis.smembers(this.deps.keys.activeCoupons)).map(Number);
      this.activeCouponsReadAt = Date.now();
    }
    return this.activeCoupons;
  }

  /** from '>' reads entries never delivered; '0' re-reads this consumer's own unacknowledged ones. */
  private async read(couponId: number, from: '>' | '0'): Promise<(Entry | Poison)[]> {
    const reply = (await this.deps.redis.xreadgroup(
      'GROUP', CONSUMER_GROUP, this.opts.name, 'COUNT', this.opts.batchSize, 'STREAMS', this.deps.keys.stream(couponId), from,
    ).catch((err: Error) => {
      if (err.message.includes('NOGROUP')) return null; // stream not created yet (or Redis emptied): nothing to read
      throw err;
    })) as StreamReply;
    return (reply?.[0]?.[1] ?? []).map(([id, fields]) => parseEntry(couponId, id, fields));
  }

  /** Takes over entries idle at other consumers; those delivered too often are dead-lettered. */
  private async reclaim(couponId: number): Promise<number> {
    const stream = this.deps.keys.stream(couponId);
    let cursor = '0-0';
    let handled = 0;
    do {
      const reply = (await this.deps.redis.xautoclaim(
        stream, CONSUMER_GROUP, this.opts.name, this.opts.claimIdleMs, cursor, 'COUNT', this.opts.batchSize,
      ).catch((err: Error) => {
        if (err.message.includes('NOGROUP')) return ['0-0', []];
        throw err;
      })) as [string, [string, string[]][]];
      cursor = reply[0];
      const claimed = reply[1].map(([id, fields]) => parseEntry(couponId, id, fields));
      if (claimed.length === 0) continue;
      this.stats.reclaimed += claimed.length;
      const deliveries = await this.deliveryCounts(stream, claimed[0]!.id, claimed.at(-1)!.id);
      const tooOften = claimed.filter((e) => (deliveries.get(e.id) ?? 0) > this.opts.maxDeliveries);
      for (const e of tooOften) {
        await this.deadLetter(isPoison(e) ? e : { couponId, id: e.id, fields: ['u', String(e.userId)], reason: `delivered more than ${this.opts.maxDeliveries} times` });
      }
      const rest = claimed.filter((e) => !tooOften.includes(e));
      if (rest.length) await this.handle(rest);
      handled += claimed.length;
    } while (cursor !== '0-0' && !this.stopping);
    return handled;
  }

  private async deliveryCounts(stream: string, from: string, to: string): Promise<Map<string, number>> {
    const rows = (await this.deps.redis.xpending(stream, CONSUMER_GROUP, from, to, this.opts.batchSize)) as [string, string, number, number][];
    return new Map(rows.map(([id, , , count]) => [id, Number(count)]));
  }

  /** Persists entries (of any coupons), retrying as the kind of failure demands, then acknowledges them. */
  private async handle(all: (Entry | Poison)[]): Promise<void> {
    for (const p of all.filter(isPoison)) await this.deadLetter(p);
    const entries = all.filter((e): e is Entry => !isPoison(e));
    if (entries.length === 0) return;
    let backoffMs = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.persist(entries);
        break;
      } catch (err) {
        if (!isDataError(err)) {
          // MySQL away, read-only, missing a table or a grant (or a bug of ours): the entries are not
          // at fault, so wait it out with the batch in hand; nothing is lost, nothing dead-lettered.
          // Asked to stop meanwhile: leave the batch unacknowledged, another consumer reclaims it.
          if (this.stopping) return;
          const level = isInfrastructureError(err) ? 'warn' : 'error';
          this.deps.log[level]({ err: (err as Error).message, backoffMs }, 'batch not persisted; kept, retrying');
          await sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 5000);
          attempt = 0;
          continue;
        }
        if (attempt < this.opts.maxAttempts) {
          await sleep(backoffMs * attempt);
          continue;
        }
        this.deps.log.error({ err: (err as Error).message, entries: entries.length }, 'batch keeps failing; isolating its entries');
        if (entries.length === 1) {
          const e = entries[0]!;
          await this.deadLetter({ couponId: e.couponId, id: e.id, fields: ['u', String(e.userId), 't', String(e.reservedAt.getTime())], reason: (err as Error).message });
          return;
        }
        for (const e of entries) await this.handle([e]);
        return;
      }
    }
    this.acknowledgeInBackground(entries);
  }

  /**
   * Safe to leave unawaited: the batch is committed. Should the ack fail, the entries stay pending,
   * are reclaimed and replayed, and the unique key makes the replay a no-op.
   */
  private acknowledgeInBackground(entries: readonly Entry[]): void {
    const ack: Promise<void> = this.acknowledge(entries)
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'ack failed; entries will be reclaimed and replayed harmlessly'))
      .finally(() => this.acks.delete(ack));
    this.acks.add(ack);
  }

  /** One transaction for the whole batch: multi-row INSERT per coupon, and each coupon's count in step. */
  private async persist(entries: readonly Entry[]): Promise<void> {
    const byCoupon = groupByCoupon(entries);
    let inserted = 0;
    await withTransaction(this.deps.db, async (tx) => {
      inserted = 0;
      const now = new Date();
      for (const [couponId, list] of byCoupon) {
        const n = await repo.insertCouponIssuesIgnoringDuplicates(tx, couponId, list.map((e) => ({ userId: e.userId, dateIssued: e.reservedAt })));
        // The CHECK on coupons refuses a count above the total: MySQL's own guard if Redis ever over-reserved.
        await repo.addIssuedQuantity(tx, couponId, n, now);
        inserted += n;
      }
    });
    this.stats.batches++;
    this.stats.persisted += inserted;
    this.stats.duplicatesSkipped += entries.length - inserted;
  }

  private async acknowledge(entries: readonly (Entry | Poison)[]): Promise<void> {
    for (const [couponId, group] of groupByCoupon(entries)) {
      const ids = group.map((e) => e.id);
      await this.deps.redis.ackEntries(this.deps.keys.stream(couponId), CONSUMER_GROUP, ...ids);
    }
  }

  private async deadLetter(p: Poison): Promise<void> {
    await this.deps.redis.xadd(this.deps.keys.deadLetter, 'MAXLEN', '~', 100_000, '*',
      'couponId', String(p.couponId), 'entryId', p.id, 'fields', JSON.stringify(p.fields), 'reason', p.reason, 'at', new Date().toISOString());
    await this.acknowledge([p]);
    this.stats.deadLettered++;
    this.deps.log.error({ couponId: p.couponId, entryId: p.id, reason: p.reason }, 'entry dead-lettered');
  }
}
