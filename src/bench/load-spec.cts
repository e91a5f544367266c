/**
 * What one load phase sends: which path, which coupons, which users. This file and the other
 * `.cts` files are CommonJS because autocannon's worker threads `require()` their hooks by path.
 */
export interface LoadSpec {
  /** '/v1/issue', '/v1/issue-async' or the baseline server's no-op route. */
  readonly path: string;
  readonly couponIds: readonly number[];
  /** 0: a fresh user per request (the default); N: every request draws from a pool of N users. */
  readonly users: number;
  /** Share (0..1) of requests that reuse a user this stream already sent (ignored when users > 0). */
  readonly repeatShare: number;
}

/** Each request stream (worker thread, wrk thread, open-model loop) owns its own range of fresh user ids. */
export const USERS_PER_STREAM = 1_000_000_000;

/** Returns a function producing the next JSON body of one stream; stream numbers start at 0. */
export function createBodyGenerator(spec: LoadSpec, stream: number): () => string {
  const base = stream * USERS_PER_STREAM;
  const coupons = spec.couponIds;
  let sent = 0;
  let fresh = 0;
  return () => {
    const couponId = coupons[sent++ % coupons.length] ?? 0;
    let userId: number;
    if (spec.users > 0) {
      userId = 1 + Math.floor(Math.random() * spec.users);
    } else if (fresh > 0 && spec.repeatShare > 0 && Math.random() < spec.repeatShare) {
      userId = base + 1 + Math.floor(Math.random() * fresh);
    } else {
      userId = base + ++fresh;
    }
    return `{"userId":${userId},"couponId":${couponId}}`;
  };
}
