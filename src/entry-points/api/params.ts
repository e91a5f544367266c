import { InvalidRequestError } from '../../errors.js';

/** A plain positive decimal within 2^53-1: what an id looks like as text (a path parameter, a token's sub). */
export function isIdText(raw: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(raw) && Number.isSafeInteger(Number(raw));
}

/** Path parameters arrive as text; only a plain positive decimal within 2^53-1 is an id. */
export function parseId(raw: string | undefined, name: string): number {
  if (raw === undefined || !/^[1-9][0-9]{0,15}$/.test(raw)) {
    throw new InvalidRequestError(`${name} must be a positive integer`);
  }
  if (!isIdText(raw)) throw new InvalidRequestError(`${name} must be at most ${Number.MAX_SAFE_INTEGER}`);
  return Number(raw);
}

/** A page size from the query string: a plain decimal from 1 to max. */
export function parseLimit(raw: string, max: number): number {
  const n = /^[1-9][0-9]{0,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n <= max)) throw new InvalidRequestError(`limit must be an integer from 1 to ${max}`);
  return n;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * ISO-8601 with an explicit offset: a date without one would silently mean the server's zone.
 * Years 1970-9999 in UTC: what MySQL's DATETIME and epoch milliseconds in Redis both hold as given.
 */
export function parseIsoDate(raw: string, name: string): Date {
  const d = new Date(raw);
  if (!ISO_WITH_OFFSET.test(raw) || Number.isNaN(d.getTime())) {
    throw new InvalidRequestError(`${name} must be an ISO-8601 date-time with an offset, e.g. 2026-12-01T10:00:00+09:00`);
  }
  if (d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) {
    throw new InvalidRequestError(`${name} must fall in the years 1970 to 9999 (UTC)`);
  }
  return d;
}
