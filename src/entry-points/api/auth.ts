import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { UnauthorizedError } from '../../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * onRequest hook of the admin routes: `Authorization: Bearer <ADMIN_TOKEN>` when a token is configured,
 * open otherwise (local use). It runs before the body is read, so an unauthenticated caller learns
 * nothing from validation errors; digests of equal length are compared, so neither is the token's length.
 * A user's JWT never matches it. Usage: `{ onRequest: adminOnly(config.adminToken) }`.
 */
export function adminOnly(adminToken: string | undefined): onRequestAsyncHookHandler {
  const expected = adminToken === undefined ? undefined : digest(`Bearer ${adminToken}`);
  return async (req: FastifyRequest): Promise<void> => {
    if (expected === undefined) return;
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) throw new UnauthorizedError();
  };
}
