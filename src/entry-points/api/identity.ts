import { webcrypto } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ForbiddenError, InvalidRequestError, UnauthorizedError } from '../../errors.js';
import type { JwtConfig, SecurityConfig } from '../../security-config.js';
import { isIdText } from './params.js';

/** Small, for clocks a little apart; expiry is otherwise the issuer's to choose. */
const CLOCK_TOLERANCE_S = 5;
/** Verified tokens kept so a repeated token skips the signature check; the oldest go first. */
const MAX_CACHED_TOKENS = 20_000;
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i; // an empty signature (alg none) is jose's to refuse

declare module 'fastify' {
  interface FastifyRequest {
    /** The token's `sub` with AUTH_MODE=jwt, once the identity hook verified it. */
    verifiedUserId: number | null;
  }
}

interface VerifiedToken {
  readonly userId: number;
  readonly expiresAt: number;
  readonly notBefore: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Verifies a bearer token with jose (one algorithm, `exp` required, issuer and audience when set) and
 * returns its `sub` as a user id. A verification costs tens of microseconds, as much as the rest of a
 * request, so the tokens already verified are remembered by their full text (signature included),
 * their time claims checked again on every use.
 */
/** The key as a WebCrypto key, imported once: given raw bytes, jose imports them again on every verification (half its cost). */
function importVerifyKey(jwt: JwtConfig): Promise<webcrypto.CryptoKey> {
  if (jwt.key instanceof Uint8Array) return webcrypto.subtle.importKey('raw', jwt.key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const spki = jwt.key.export({ type: 'spki', format: 'der' });
  const algorithm = jwt.algorithm === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return webcrypto.subtle.importKey('spki', spki, algorithm, false, ['verify']);
}

export function createTokenVerifier(jwt: JwtConfig): (authorization: string | undefined) => Promise<number> {
  const verified = new Map<string, VerifiedToken>();
  const key = importVerifyKey(jwt);
  const stillValid = (t: VerifiedToken, now: number) => t.notBefore <= now + CLOCK_TOLERANCE_S && now - CLOCK_TOLERANCE_S < t.expiresAt;

  return async (authorization) => {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) throw new UnauthorizedError('a bearer token is required: Authorization: Bearer <JWT>');
    const known = verified.get(token);
    if (known) {
      if (stillValid(known, nowSeconds())) return known.userId;
      verified.delete(token);
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: [jwt.algorithm], issuer: jwt.issuer, audience: jwt.audience, requiredClaims: ['exp', 'sub'], clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('the bearer token has expired');
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw new UnauthorizedError('the bearer token is not valid');
      throw err;
    }
    if (typeof payload.sub !== 'string' || !isIdText(payload.sub)) {
      throw new UnauthorizedError('the bearer token\'s sub is not a user id (a positive integer)');
    }
    const entry = { userId: Number(payload.sub), expiresAt: payload.exp ?? 0, notBefore: payload.nbf ?? 0 };
    verified.set(token, entry);
    if (verified.size > MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value!);
    return entry.userId;
  };
}

/**
 * An HS256 token for a user, signed with JWT_SECRET (and the configured issuer and audience): for trying
 * AUTH_MODE=jwt by hand (`coupon token`) and for load tools. Real tokens come from the login service.
 */
export async function signUserToken(jwt: JwtConfig, userId: number, ttlSeconds: number): Promise<string> {
  if (jwt.algorithm !== 'HS256' || !(jwt.key instanceof Uint8Array)) throw new Error('only an HS256 JWT_SECRET can sign tokens here');
  const token = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(String(userId)).setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (jwt.issuer !== undefined) token.setIssuer(jwt.issuer);
  if (jwt.audience !== undefined) token.setAudience(jwt.audience);
  return token.sign(jwt.key);
}

export interface Identity {
  readonly mode: SecurityConfig['authMode'];
  /** onRequest hooks of the user endpoints: before the body is read, a request without a valid token is 401. */
  readonly onRequest: onRequestAsyncHookHandler[];
  /**
   * The user a request acts for. jwt: the token's user; a different `given` one is 403 FORBIDDEN.
   * none: the given one, as the client says (the body's userId, the path's user).
   */
  userFor(req: FastifyRequest, given: number | undefined): number;
}

export function createIdentity(security: SecurityConfig): Identity {
  if (security.authMode === 'none' || !security.jwt) {
    return {
      mode: 'none',
      onRequest: [],
      userFor(_req, given) {
        if (given === undefined) throw new InvalidRequestError('userId is required');
        return given;
      },
    };
  }
  const verify = createTokenVerifier(security.jwt);
  return {
    mode: 'jwt',
    onRequest: [async (req) => { req.verifiedUserId = await verify(req.headers.authorization); }],
    userFor(req, given) {
      const userId = req.verifiedUserId;
      if (userId === null) throw new UnauthorizedError('a bearer token is required: Authorization: Bearer <JWT>');
      if (given !== undefined && given !== userId) throw new ForbiddenError(`the token is for user ${userId}, not user ${given}`);
      return userId;
    },
  };
}
