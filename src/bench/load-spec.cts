/**
 * What one load phase sends: which path, which coupons, which users. This file and the other
 * `.cts` files are CommonJS because autocannon's worker threads `require()` their hooks by path.
 */
import { readFileSync } from 'node:fs';

export interface LoadSpec {
  /** '/v1/issue', '/v1/issue-async' or the baseline server's no-op route. */
  readonly path: string;
  readonly couponIds: readonly number[];
  /** 0: a fresh user per request (the default); N: every request draws from a pool of N users. */
  readonly users: number;
  /** Share (0..1) of requests that reuse a user this stream already sent (ignored when users > 0). */
  readonly repeatShare: number;
  /**
   * AUTH_MODE=jwt: a file of pre-signed tokens, line i the token of user i. Every request then
   * carries its user's token, and users come from 1..(line count): see createRequestGenerator.
   */
  readonly tokenFile?: string | undefined;
  /** Fresh users of each stream start at its k-th: a later turn of the same load goes on with new users. */
  readonly freshFrom?: number;
}

export interface BenchRequest {
  readonly body: string;
  /** `Bearer <token of the body's user>` with a token file, else undefined. */
  readonly authorization: string | undefined;
}

/** Each request stream (worker thread, wrk thread, open-model loop) owns its own range of fresh user ids. */
export const USERS_PER_STREAM = 1_000_000_000;

/** The token file's lines, as header values; index 0 is user 1. */
export function readAuthorizations(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((t) => t !== '').map((t) => `Bearer ${t}`);
}

/**
 * Returns a function producing the next request of stream `stream` (0..streams-1). Without tokens,
 * the k-th fresh user of a stream is stream * USERS_PER_STREAM + k. With tokens, users are bounded
 * by the pool: the streams take its users in turn (stream + k * streams), so they stay distinct until
 * the pool runs out, then wrap around (a repeat, answered like one: 409).
 */
export function createRequestGenerator(spec: LoadSpec, stream: number, streams: number): () => BenchRequest {
  const coupons = spec.couponIds;
  const auth = spec.tokenFile === undefined ? undefined : readAuthorizations(spec.tokenFile);
  if (auth && spec.users > auth.length) throw new Error(`${spec.users} users but only ${auth.length} tokens in ${spec.tokenFile}`);
  const from = spec.freshFrom ?? 0;
  const freshUser = auth === undefined
    ? (k: number) => stream * USERS_PER_STREAM + from + k + 1
    : (k: number) => 1 + ((stream + (from + k) * streams) % auth.length);
  let sent = 0;
  let fresh = 0;
  return () => {
    const couponId = coupons[sent++ % coupons.length] ?? 0;
    let userId: number;
    if (spec.users > 0) {
      userId = 1 + Math.floor(Math.random() * spec.users);
    } else if (fresh > 0 && spec.repeatShare > 0 && Math.random() < spec.repeatShare) {
      userId = freshUser(Math.floor(Math.random() * fresh));
    } else {
      userId = freshUser(fresh++);
    }
    return { body: `{"userId":${userId},"couponId":${couponId}}`, authorization: auth?.[userId - 1] };
  };
}
