import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

/**
 * Most users a jwt variant signs tokens for. Signing takes 25-50 µs a token here (busy 2 cores), so the
 * cap is 5-10 s before the variant's first load, and a 30 MB file each generator stream reads.
 */
export const TOKEN_POOL_CAP = 200_000;
/**
 * Above what the API answers on our 2 cores in the closed model (the baseline server stays well
 * under it), so a fresh-user stream of a run shorter than TOKEN_POOL_CAP / this seconds never wraps.
 */
const MOST_REQUESTS_PER_SEC = 40_000;
/** Far beyond any run: a token must not expire under load. */
const TOKEN_TTL_S = 24 * 3600;
/** Signed at once: enough to keep WebCrypto busy without one promise per user in flight. */
const SIGN_BATCH = 1000;

/** Users a phase of the run can ask for: the open model's exact count, the closed model's upper bound, and any fixed pool. */
export function tokenPoolSize(seconds: number, rate: number | null, pooledUsers: number): number {
  return Math.max(pooledUsers, Math.min(TOKEN_POOL_CAP, Math.ceil((rate ?? MOST_REQUESTS_PER_SEC) * seconds)));
}

export interface JwtIdentity {
  /** AUTH_MODE=jwt, its secret and an admin token, for the API child. */
  readonly apiEnv: Readonly<Record<string, string>>;
  readonly adminToken: string;
  /** Line i: the token of user i (load-spec.cts). */
  readonly tokenFile: string;
  remove(): Promise<void>;
}

/** A secret and an admin token of the run's own, and tokens for users 1..users signed before any load is timed. */
export async function createJwtIdentity(users: number): Promise<JwtIdentity> {
  const secret = randomBytes(32).toString('base64url');
  const adminToken = randomBytes(24).toString('base64url');
  // The claims of identity.ts's signUserToken, with the key imported once: given raw bytes, jose
  // imports them again for every token (two thirds of its cost).
  const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL_S;
  const sign = (userId: number) => new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(String(userId)).setIssuedAt()
    .setExpirationTime(exp).sign(key);
  const tokens: string[] = [];
  for (let from = 1; from <= users; from += SIGN_BATCH) {
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(SIGN_BATCH, users - from + 1) }, (_, i) => sign(from + i)))));
  }
  const dir = await mkdtemp(join(tmpdir(), 'coupon-bench-tokens-'));
  const tokenFile = join(dir, 'tokens.txt');
  await writeFile(tokenFile, `${tokens.join('\n')}\n`);
  return {
    apiEnv: { AUTH_MODE: 'jwt', JWT_SECRET: secret, ADMIN_TOKEN: adminToken },
    adminToken,
    tokenFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
