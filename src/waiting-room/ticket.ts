import { randomBytes } from 'node:crypto';

/**
 * Tickets are 128 random bits, stored in Redis under the coupon's queue with their user: opaque,
 * unguessable, bound to the coupon (looked up only under its keys) and to the user (stored with it).
 * Stored rather than signed, so every API process agrees without a shared secret (no QUEUE_SECRET).
 */
export function newTicket(): string {
  return randomBytes(16).toString('base64url');
}

/** Anything else cannot be a ticket we gave: answered without asking Redis. */
export function isWellFormedTicket(raw: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(raw);
}
