import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDataError } from '../../adapters/mysql/mysql-errors.js';
import { isStorageUnavailable } from '../../adapters/unavailable.js';
import type { Deps } from '../../deps.js';
import { IssueMode } from '../../domain/coupon.js';
import { FailureKind } from '../../domain/issue-failure.js';
import { readRedisRules } from '../coupon-mirror.js';
import { giveUpEntry } from '../failures/give-up.js';
import { isMalformed, type ReservationEntry } from '../stream/reservation-entry.js';
import { ReservationStreams, type NewEntries, type StreamEntry } from '../stream/reservation-streams.js';
import { ActiveCoupons } from './active-coupons.js';
import { groupByCoupon, persistBatch } from './persist-batch.js';
import { Reclaimer } from './reclaimer.js';

/** How long one read waits for new entries: short enough that the list of coupons, refreshed each round, stays within about a second. */
const NEW_ENTRIES_WAIT_MS = 1000;

export interface ConsumerOptions {
  readonly name: string;
  readonly batchSize: number;
  /** An entry unacknowledged this long is taken over from its (presumed dead) consumer. */
  readonly claimIdleMs: number;
  /** A data error (MySQL refusing the values) retried this many times isolates the batch entry by entry; failures are recorded in MySQL. */
  readonly maxAttempts: number;
  /** An entry delivered this many times (its consumers kept dying on it) is given up without another try. */
  readonly maxDeliveries: number;
  /** How often finished coupons are dropped from the polling list (default 30 s). */
  readonly pruneEveryMs?: number;
  /** Told each committed batch's duration (the metrics' histogram). */
  readonly onBatchPersisted?: (seconds: number) => void;
}

export interface ConsumerStats {
  persisted: number;
  duplicatesSkipped: number;
  deadLettered: number;
  batches: number;
  reclaimed: number;
}

/**
 * Drains the coupons' reservation streams into MySQL through a consumer group. An entry is
 * acknowledged (and deleted) only after its batch committed, so a crash replays at most the batch
 * in hand, and the unique key makes a replay harmless. MySQL being away is waited out, never
 * dead-lettered; an entry that keeps failing for its own sake is recorded as a failed issue in MySQL
 * (its user reads FAILED) and its unit released in Redis.
 */
export class PersistConsumer {
  readonly stats: ConsumerStats = { persisted: 0, duplicatesSkipped: 0, deadLettered: 0, batches: 0, reclaimed: 0 };
  private stopping = false;
  /** Acknowledgements of committed batches still on their way; they overlap the next batch's work. */
  private readonly acks = new Set<Promise<void>>();
  private lastClaimAt = 0;
  private readonly streams: ReservationStreams;
  private readonly coupons: ActiveCoupons;
  private readonly reclaimer: Reclaimer;
  private readonly newEntries: NewEntries;

  constructor(private readonly deps: Deps, private readonly opts: ConsumerOptions) {
    this.streams = new ReservationStreams(deps);
    this.coupons = new ActiveCoupons(
      this.streams,
      async (couponId) => {
        const rules = await readRedisRules(deps, couponId);
        // A coupon bound to the sync path never queues an entry (listed before this was known, or by an older version).
        return rules?.issueMode === IssueMode.SYNC ? 0 : rules?.dateIssueEnd.getTime() ?? null;
      },
      opts.pruneEveryMs,
    );
    this.newEntries = this.streams.newEntries(opts.name, opts.batchSize, NEW_ENTRIES_WAIT_MS);
    this.reclaimer = new Reclaimer(
      this.streams,
      { consumer: opts.name, batchSize: opts.batchSize, claimIdleMs: opts.claimIdleMs, maxDeliveries: opts.maxDeliveries },
      (entries) => this.handle(entries),
      (entry, reason, deliveries) => this.deadLetter(entry, FailureKind.REDELIVERED_TOO_OFTEN, reason, deliveries),
    );
  }

  static defaultName(): string {
    return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Asks the loop to stop after the batch in hand; a wait for new entries ends at once. */
  stop(): void {
    this.stopping = true;
    void this.newEntries.close();
  }

  /** Runs until stop(); resolves once the batch in hand is committed and acknowledged. */
  async run(): Promise<void> {
    await this.recoverOwnPending();
    while (!this.stopping) {
      try {
        await this.pollOnce();
      } catch (err) {
        if (this.stopping) break;
        // Redis away or a bug outside a batch: nothing was acknowledged, so waiting and retrying loses nothing.
        this.deps.log.warn({ err: (err as Error).message }, 'consumer poll failed; retrying');
        await sleep(500);
      }
    }
    await this.newEntries.close();
    await Promise.all(this.acks);
  }

  /**
   * One round: reclaim what dead consumers left (every so often, and only where entries are
   * pending), then wait for new entries (the reader blocks while there are none) and persist them.
   */
  private async pollOnce(): Promise<void> {
    const coupons = await this.coupons.current();
    if (coupons.length > 0 && Date.now() - this.lastClaimAt >= Math.min(this.opts.claimIdleMs / 2, 5000)) {
      this.lastClaimAt = Date.now();
      for (const couponId of await this.streams.withPending(coupons)) {
        this.stats.reclaimed += await this.reclaimer.reclaim(couponId, () => this.stopping);
      }
    }
    const entries = await this.newEntries.read(coupons);
    if (entries.length) await this.handle(entries);
  }

  /** A consumer restarted under its old name first finishes what it had read but not acknowledged. */
  private async recoverOwnPending(): Promise<void> {
    for (;;) {
      try {
        for (const couponId of await this.coupons.current()) {
          for (;;) {
            const own = await this.streams.read(couponId, this.opts.name, '0', this.opts.batchSize);
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

  /** Persists entries (of any coupons), retrying as the kind of failure demands, then acknowledges them. */
  private async handle(all: readonly StreamEntry[]): Promise<void> {
    const entries: ReservationEntry[] = [];
    for (const e of all) {
      if (isMalformed(e)) await this.deadLetter(e, FailureKind.MALFORMED_ENTRY, e.reason, 0);
      else entries.push(e);
    }
    if (entries.length === 0) return;
    let backoffMs = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const startedAt = performance.now();
        const inserted = await persistBatch(this.deps.db, entries);
        this.opts.onBatchPersisted?.((performance.now() - startedAt) / 1000);
        this.stats.batches++;
        this.stats.persisted += inserted;
        this.stats.duplicatesSkipped += entries.length - inserted;
        break;
      } catch (err) {
        if (!isDataError(err)) {
          // MySQL away, read-only, missing a table or a grant (or a bug of ours): the entries are not
          // at fault, so wait it out with the batch in hand; nothing is lost, nothing dead-lettered.
          // Asked to stop meanwhile: leave the batch unacknowledged, another consumer reclaims it.
          if (this.stopping) return;
          const level = isStorageUnavailable(err) ? 'warn' : 'error';
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
          await this.deadLetter(entries[0]!, FailureKind.REFUSED_BY_DATABASE, (err as Error).message, attempt);
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
  private acknowledgeInBackground(entries: readonly ReservationEntry[]): void {
    const ack: Promise<void> = (async () => {
      for (const [couponId, group] of groupByCoupon(entries)) await this.streams.acknowledge(couponId, group.map((e) => e.id));
    })()
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'ack failed; entries will be reclaimed and replayed harmlessly'))
      .finally(() => this.acks.delete(ack));
    this.acks.add(ack);
  }

  private async deadLetter(entry: StreamEntry, kind: FailureKind, reason: string, attempts: number): Promise<void> {
    const outcome = await giveUpEntry(this.deps, this.streams, { entry, kind, reason, attempts });
    if (outcome === 'ALREADY_ISSUED') return; // a replay of an entry MySQL holds: acknowledged, nothing failed
    this.stats.deadLettered++;
    this.deps.log.error({ couponId: entry.couponId, entryId: entry.id, kind, reason }, 'entry given up: recorded as a failed issue in mysql');
  }
}
