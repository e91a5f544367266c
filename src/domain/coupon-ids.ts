import { AbsentIds } from './absent-ids.js';
import * as repo from './coupon.repository.js';

const ABSENT_TTL_MS = 10_000;
const MAX_ABSENT_RANGES = 10_000;

/**
 * Whether a coupon id can exist, answered so that no pattern of unknown ids costs a MySQL query per
 * request: ids are AUTO_INCREMENT, so one above the largest cannot exist (one MAX(id) read shared by
 * every request waiting); below it, a miss records its whole empty run of ids (one neighbour lookup
 * at a time per process, the others wait and look in what it learnt).
 */
export class CouponIds {
  private max = { value: 0, readStartedAt: 0 };
  private maxRead: Promise<void> | null = null;
  private readonly absent = new AbsentIds(ABSENT_TTL_MS, MAX_ABSENT_RANGES);
  private neighboursRead: Promise<unknown> | null = null;

  constructor(private readonly db: repo.Queryable) {}

  /** False when MySQL has no such coupon; `since`: a coupon created before this moment is seen. */
  async mayExist(couponId: number, since = Date.now()): Promise<boolean> {
    return (couponId <= this.max.value || couponId <= (await this.maxSince(since))) && this.existsBelowMax(couponId);
  }

  /** The largest id as read by a query that started at or after `since` (one query in flight at a time). */
  private async maxSince(since: number): Promise<number> {
    while (this.max.readStartedAt < since) {
      if (!this.maxRead) {
        const startedAt = Date.now();
        this.maxRead = repo.findMaxCouponId(this.db)
          .then((value) => { this.max = { value, readStartedAt: startedAt }; })
          .finally(() => { this.maxRead = null; });
      }
      await this.maxRead; // a read that began before `since` may miss a newer coupon: loop for a fresh one
    }
    return this.max.value;
  }

  private async existsBelowMax(couponId: number): Promise<boolean> {
    for (;;) {
      if (this.absent.has(couponId)) return false;
      if (!this.neighboursRead) {
        const read = repo.findIdNeighbours(this.db, couponId).then(({ below, atOrAbove }) => {
          if (atOrAbove !== couponId && atOrAbove !== null) this.absent.add(below + 1, atOrAbove - 1);
          return atOrAbove === couponId || atOrAbove === null; // null: above the largest, asked again by maxSince
        });
        this.neighboursRead = read.finally(() => { this.neighboursRead = null; });
        return read;
      }
      await this.neighboursRead.catch(() => undefined);
    }
  }
}
