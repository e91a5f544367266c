import { Pool } from 'undici';

export interface IssueRequestBody {
  readonly userId: number;
  readonly couponId: number;
}

export interface LoadResult {
  /** "200", "409 DUPLICATED_COUPON_ISSUE", ... -> count */
  readonly outcomes: Record<string, number>;
  readonly total: number;
}

/**
 * Sends every body at once (all in flight together, up to `connections` sockets per base URL),
 * spreading them round-robin over the base URLs, and counts the answers by status and code
 * (`onAnswer` sees each as it comes).
 */
export async function fireIssues(
  baseUrls: readonly string[], path: string, bodies: readonly IssueRequestBody[], connections = 128,
  onAnswer?: (body: IssueRequestBody, outcome: string) => void,
): Promise<LoadResult> {
  const pools = baseUrls.map((u) => new Pool(u, { connections, pipelining: 1 }));
  const outcomes: Record<string, number> = {};
  try {
    await Promise.all(bodies.map(async (b, i) => {
      const pool = pools[i % pools.length]!;
      const res = await pool.request({
        method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(b),
      });
      const json = (await res.body.json()) as { code?: string };
      const key = json.code ? `${res.statusCode} ${json.code}` : String(res.statusCode);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      onAnswer?.(b, key);
    }));
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  return { outcomes, total: bodies.length };
}

/** 1,000 distinct users plus 200 repeats of already-seen ones, shuffled: the issue's flood. */
export function floodBodies(couponId: number, distinctUsers: number, repeats: number, firstUserId = 1): IssueRequestBody[] {
  const bodies: IssueRequestBody[] = [];
  for (let i = 0; i < distinctUsers; i++) bodies.push({ couponId, userId: firstUserId + i });
  for (let i = 0; i < repeats; i++) bodies.push({ couponId, userId: firstUserId + ((i * 7919) % distinctUsers) });
  // Deterministic shuffle (mulberry32) so a failure can be replayed.
  let seed = couponId * 2654435761;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = bodies.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [bodies[i], bodies[j]] = [bodies[j]!, bodies[i]!];
  }
  return bodies;
}
