import type { LiveSnapshot } from '../../src/metrics/live-snapshots.js';

/** "202" -> OK, "409 X" -> X: the codes the live stream reports. */
export const byCode = (outcomes: Record<string, number>) => Object.fromEntries(
  Object.entries(outcomes).map(([k, n]) => [k.includes(' ') ? k.split(' ')[1]! : 'OK', n]),
);

/** The answers of several snapshots (seconds), summed by code. */
export const summed = (events: readonly LiveSnapshot[]) => {
  const sum: Record<string, number> = {};
  for (const e of events) for (const [code, n] of Object.entries(e.answers)) sum[code] = (sum[code] ?? 0) + n;
  return sum;
};
