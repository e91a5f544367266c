interface Range {
  readonly from: number;
  readonly to: number;
  readonly expiresAt: number;
}

/**
 * Ranges of coupon ids below the largest one that MySQL has no coupon for, learnt from misses: a
 * miss records the whole empty run around the id (between its existing neighbours), so random ids
 * cost one query per run, not per id. Kept briefly (ids are AUTO_INCREMENT and never go back into a
 * run, but a database can be recreated), at most `maxRanges` of them.
 */
export class AbsentIds {
  /** Sorted by `from`; runs learnt from one table do not overlap. */
  private ranges: Range[] = [];

  constructor(
    private readonly ttlMs: number,
    private readonly maxRanges: number,
    private readonly clock: () => number = Date.now,
  ) {}

  has(id: number): boolean {
    const r = this.ranges[this.lastStartingAtOrBelow(id)];
    return r !== undefined && id <= r.to && r.expiresAt > this.clock();
  }

  add(from: number, to: number): void {
    const now = this.clock();
    const kept = this.ranges.filter((r) => r.expiresAt > now && r.from !== from);
    if (kept.length >= this.maxRanges) kept.splice(0, kept.length - this.maxRanges + 1); // only a shortcut: lose some
    const range = { from, to, expiresAt: now + this.ttlMs };
    kept.splice(this.insertionPoint(kept, from), 0, range);
    this.ranges = kept;
  }

  private lastStartingAtOrBelow(id: number): number {
    return this.insertionPoint(this.ranges, id + 1) - 1;
  }

  /** The first index whose range starts at or above `from`. */
  private insertionPoint(ranges: readonly Range[], from: number): number {
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranges[mid]!.from < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
