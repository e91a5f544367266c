import { Pool } from 'undici';

export interface IssueRequestBody {
  readonly userId: number;
  readonly couponId: number;
}

export interface FloodResult {
  /** "200", "409 DUPLICATED_COUPON_ISSUE", ... -> count */
  readonly outcomes: Record<string, number>;
  readonly total: number;
}

/** 2xx answers to an issue: the user was told they have the coupon (200 sync, 202 reserved). */
export function succeededOf(outcomes: Readonly<Record<string, number>>): number {
  return (outcomes['200'] ?? 0) + (outcomes['202'] ?? 0);
}

const CODE = /"code":"([A-Z_]+)"/;

/** An answer's key: its status, and the error code its body carries, if any. */
function outcomeOf(status: number, body: string): string {
  const code = CODE.exec(body)?.[1];
  return code === undefined ? String(status) : `${status} ${code}`;
}

/**
 * Sends every body once, as fast as the servers answer, over up to `connections` keep-alive
 * connections per base URL (body i goes to base URL i mod n), and counts the answers by status and code
 * (`onAnswer` sees each as it comes).
 */
export async function fireIssues(
  baseUrls: readonly string[], path: string, bodies: readonly IssueRequestBody[], connections = 128,
  onAnswer?: (body: IssueRequestBody, outcome: string) => void,
): Promise<FloodResult> {
  const pools = baseUrls.map((u) => new Pool(new URL(u).origin, { connections, pipelining: 1 }));
  const outcomes: Record<string, number> = {};
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const pool = pools[i % pools.length]!;
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(bodies[i]) });
      const key = outcomeOf(res.statusCode, await res.body.text());
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      onAnswer?.(bodies[i]!, key);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(bodies.length, connections * pools.length) }, sender));
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
  return { outcomes, total: bodies.length };
}

/**
 * `distinctUsers` users from `firstUserId` on, plus `repeats` requests by users already in the
 * list, shuffled: a flood with retries in it.
 */
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

export interface TimedAnswer {
  readonly body: IssueRequestBody;
  /** Date.now() when the request was written, and when its answer was read. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** "202", "409 INVALID_COUPON_ISSUE_DATE", ... as in FloodResult.outcomes. */
  readonly outcome: string;
}

/**
 * A sustained flood: `workers` loops, each on its own connection, send one request at a time while
 * `next()` yields bodies, so requests keep being written while a test acts (a PATCH, a close) and
 * each answer says when it was sent.
 */
export async function floodWhile(baseUrls: readonly string[], path: string, next: () => IssueRequestBody | undefined, workers = 32): Promise<TimedAnswer[]> {
  const pools = baseUrls.map((u) => new Pool(new URL(u).origin, { connections: Math.ceil(workers / baseUrls.length), pipelining: 1 }));
  const answers: TimedAnswer[] = [];
  try {
    await Promise.all(Array.from({ length: workers }, async (_, w) => {
      const pool = pools[w % pools.length]!;
      for (let body = next(); body; body = next()) {
        const sentAt = Date.now();
        const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        answers.push({ body, sentAt, answeredAt: Date.now(), outcome: outcomeOf(res.statusCode, await res.body.text()) });
      }
    }));
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
  return answers;
}

export function countOutcomes(answers: readonly { outcome: string }[]): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const a of answers) outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
  return outcomes;
}
