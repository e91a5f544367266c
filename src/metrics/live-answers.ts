import type { Scripts } from '../adapters/redis/scripts.js';

/**
 * Latency buckets of the live page's sketch, in ms: upper bounds growing by about a quarter, 0.1 ms to
 * about 11 s, so p50 and p99 read from summed counts are within 25% of the truth. The last bucket is open.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from({ length: 53 }, (_, i) => Math.round(0.1 * 1.25 ** i * 1000) / 1000);

/** Seconds a flushed second stays in Redis: the page's chart spans the last minutes. */
export const LIVE_SECOND_TTL_S = 600;

/** Coupons one process records between flushes at most: ids of coupons that do not exist must not grow the map without bound. */
const MAX_COUPONS_PER_FLUSH = 1000;

function bucketOf(ms: number): number {
  // Binary search over the bounds: ~6 comparisons.
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One coupon's answers since the last flush: kept across flushes and zeroed, so a second allocates nothing. */
interface SecondOfCoupon {
  readonly codes: Map<string, { readonly field: string; n: number }>;
  /** Answers per latency bucket (the last is the open one). */
  readonly latency: Uint32Array;
  answers: number;
}

export interface LiveAnswers {
  /** One answer to an issue request for `couponId`: `code` is OK for a 2xx, the error code otherwise. */
  record(couponId: number, code: string, ms: number): void;
  /** Adds what was recorded since the last flush to Redis (one script call per coupon, sent together); the timer calls it every second. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** The hash's field of each latency bucket, built once (a flush names up to ~50 per coupon). */
const LATENCY_FIELDS: readonly string[] = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, b) => `l:${b}`);

/** What one flush sends for a coupon: field, increment, field, increment, ... (non-zero ones only). */
function incrementsOf(s: SecondOfCoupon): (string | number)[] {
  const out: (string | number)[] = [];
  for (const c of s.codes.values()) if (c.n > 0) out.push(c.field, c.n);
  for (let b = 0; b < s.latency.length; b++) if (s.latency[b]! > 0) out.push(LATENCY_FIELDS[b]!, s.latency[b]!);
  return out;
}

/**
 * Answers per coupon and code, counted in this process's memory on the hot path (no Redis command
 * per request) and added once a second to the hash of the second the flush runs in (one script call
 * per coupon, sent together), so every API process's counts sum there and any process
 * can serve them. Keyed by the flush's second, not the answer's: a flush that runs late still lands in
 * a second no reader has passed yet.
 */
export function createLiveAnswers(client: { scripts: Pick<Scripts, 'addLiveSeconds'> }, onError: (err: unknown) => void, intervalMs = 1000): LiveAnswers {
  const coupons = new Map<number, SecondOfCoupon>();
  const flush = async (): Promise<void> => {
    const taken: [number, (string | number)[]][] = [];
    for (const [couponId, s] of coupons) {
      // A coupon with no answer in a whole second leaves the map: the ones no longer asked for do not stay.
      if (s.answers === 0) {
        coupons.delete(couponId);
        continue;
      }
      taken.push([couponId, incrementsOf(s)]);
      for (const c of s.codes.values()) c.n = 0;
      s.latency.fill(0);
      s.answers = 0;
    }
    if (taken.length > 0) await client.scripts.addLiveSeconds(Math.floor(Date.now() / 1000), LIVE_SECOND_TTL_S, taken);
  };
  const timer = setInterval(() => { flush().catch(onError); }, intervalMs);
  timer.unref();
  return {
    record(couponId, code, ms) {
      let s = coupons.get(couponId);
      if (!s) {
        if (coupons.size >= MAX_COUPONS_PER_FLUSH) return;
        coupons.set(couponId, (s = { codes: new Map(), latency: new Uint32Array(LATENCY_BOUNDS_MS.length + 1), answers: 0 }));
      }
      // One lookup per answer (a counter object per code, kept across seconds), not a get and a set.
      const c = s.codes.get(code);
      if (c) c.n++;
      else s.codes.set(code, { field: `c:${code}`, n: 1 });
      s.latency[bucketOf(ms)]!++;
      s.answers++;
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush().catch(onError);
    },
  };
}

export interface SecondOfAnswers {
  /** Answers by code: OK for a 200/202, the error code otherwise. */
  readonly answers: Record<string, number>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

function quantile(latency: readonly number[], total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < latency.length; i++) {
    seen += latency[i] ?? 0;
    // The bucket's upper bound; the open last bucket reports the last bound.
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
  }
  return null;
}

/** Flushed seconds (their hashes' fields summed) as the live stream reports them. */
export function secondOfAnswers(hash: Readonly<Record<string, number>>): SecondOfAnswers {
  const answers: Record<string, number> = {};
  const latency: number[] = [];
  let total = 0;
  for (const [field, value] of Object.entries(hash)) {
    const n = value;
    if (field.startsWith('c:')) answers[field.slice(2)] = n;
    else if (field.startsWith('l:')) {
      latency[Number(field.slice(2))] = n;
      total += n;
    }
  }
  return { answers, p50Ms: quantile(latency, total, 0.5), p99Ms: quantile(latency, total, 0.99) };
}
