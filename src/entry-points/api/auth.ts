import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../errors.js';

/** Admin routes need `Authorization: Bearer <ADMIN_TOKEN>` when a token is configured; open otherwise (local use). */
export function requireAdmin(adminToken: string | undefined) {
  const expected = adminToken === undefined ? undefined : Buffer.from(`Bearer ${adminToken}`);
  return async (req: FastifyRequest): Promise<void> => {
    if (expected === undefined) return;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError();
  };
}
