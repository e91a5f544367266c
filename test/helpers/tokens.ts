import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';

export const HS_SECRET = 'test-secret-of-at-least-32-characters!!';
export const ADMIN_TOKEN = 'test-admin-token-for-identity';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const RSA_PUBLIC_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

export interface TokenOptions {
  readonly sub?: string | undefined;
  /** Seconds from now; negative for an expired token; null for none. */
  readonly expiresIn?: number | null;
  readonly issuer?: string;
  readonly audience?: string;
}

async function sign(alg: 'HS256' | 'RS256', key: Parameters<SignJWT['sign']>[0], o: TokenOptions): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt();
  if (o.sub !== undefined) jwt.setSubject(o.sub);
  if (o.expiresIn !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresIn ?? 600));
  if (o.issuer) jwt.setIssuer(o.issuer);
  if (o.audience) jwt.setAudience(o.audience);
  return jwt.sign(key);
}

export const hsToken = (o: TokenOptions, secret = HS_SECRET) => sign('HS256', new TextEncoder().encode(secret), o);
export const rsToken = (o: TokenOptions, key = rsa.privateKey) => sign('RS256', key, o);
export const rsTokenFromOtherKey = (o: TokenOptions) => rsToken(o, otherRsa.privateKey);

/** An unsecured token (`alg: none`), which a verifier must never accept. */
export function noneToken(sub: string): string {
  const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}

/** The Authorization header carrying a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
