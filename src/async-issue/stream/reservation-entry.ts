/**
 * The stream entry a reservation becomes. issue-reserve.lua writes it (its header names the same
 * fields); the consumer, reconcile and the dead-letter record read it through this codec only.
 */
export const ENTRY_FIELDS = { userId: 'u', reservedAt: 't' } as const;

export interface ReservationEntry {
  readonly couponId: number;
  /** The stream entry id. */
  readonly id: string;
  readonly userId: number;
  readonly reservedAt: Date;
}

/** An entry that cannot be a reservation (written by hand, or by a broken writer): never retried. */
export interface MalformedEntry {
  readonly couponId: number;
  readonly id: string;
  readonly fields: readonly string[];
  readonly reason: string;
}

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The user an entry names, or NaN when it names none. */
export function entryUserId(fields: readonly string[]): number {
  return Number(field(fields, ENTRY_FIELDS.userId));
}

export function parseEntry(couponId: number, id: string, fields: readonly string[]): ReservationEntry | MalformedEntry {
  const userId = entryUserId(fields);
  const reservedAt = Number(field(fields, ENTRY_FIELDS.reservedAt));
  if (!Number.isSafeInteger(userId) || userId < 1 || !Number.isFinite(reservedAt)) {
    return { couponId, id, fields, reason: `malformed entry: ${ENTRY_FIELDS.userId} and ${ENTRY_FIELDS.reservedAt} must be numbers` };
  }
  return { couponId, id, userId, reservedAt: new Date(reservedAt) };
}

export function isMalformed(e: ReservationEntry | MalformedEntry): e is MalformedEntry {
  return 'reason' in e;
}

/** The entry's fields as the stream held them (for the record of an entry given up). */
export function entryFields(e: ReservationEntry | MalformedEntry): readonly string[] {
  return isMalformed(e) ? e.fields : [ENTRY_FIELDS.userId, String(e.userId), ENTRY_FIELDS.reservedAt, String(e.reservedAt.getTime())];
}
