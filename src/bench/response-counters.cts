/**
 * Responses by status and error code, counted in a SharedArrayBuffer so that autocannon's worker
 * threads and the main thread (progress bar, report) see the same numbers without messages.
 */
export const RESPONSE_KEYS = [
  '200', '201', '202', '400', '404 COUPON_NOT_EXIST',
  '409 DUPLICATED_COUPON_ISSUE', '409 INVALID_COUPON_ISSUE_QUANTITY', '409 INVALID_COUPON_ISSUE_DATE',
  '401 UNAUTHORIZED', '403 FORBIDDEN', '429 RATE_LIMITED', '500', '503 UNAVAILABLE', 'other',
] as const;
export type ResponseKey = (typeof RESPONSE_KEYS)[number];

const SLOT = new Map<string, number>(RESPONSE_KEYS.map((k, i) => [k, i]));
const OTHER = RESPONSE_KEYS.length - 1;
const CODE = /"code":"([A-Z_]+)"/;

export function createCounterBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(RESPONSE_KEYS.length * Int32Array.BYTES_PER_ELEMENT);
}

export function slotOf(status: number, body: string): number {
  if (status < 300) return SLOT.get(String(status)) ?? OTHER;
  const code = CODE.exec(body)?.[1];
  return (code === undefined ? undefined : SLOT.get(`${status} ${code}`)) ?? SLOT.get(String(status)) ?? OTHER;
}

export function countResponse(counters: Int32Array, status: number, body: string): void {
  Atomics.add(counters, slotOf(status, body), 1);
}

export function readCounters(buffer: SharedArrayBuffer): Record<string, number> {
  const view = new Int32Array(buffer);
  const out: Record<string, number> = {};
  RESPONSE_KEYS.forEach((k, i) => {
    const n = Atomics.load(view, i);
    if (n > 0) out[k] = n;
  });
  return out;
}
