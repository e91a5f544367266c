import { InvalidArgumentError } from 'commander';
import { parseWorkerCount, WORKER_COUNT_RULE } from '../../config.js';

/** Argument parsers shared by the commands: a bad value is commander's one-line usage error. */

export function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeNumber(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

export function share(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a number in [0, 1)');
  return n;
}

/** Parses "a,b" against the allowed names; "all" means every one. */
export function listOf<T extends string>(allowed: readonly T[]) {
  return (raw: string): T[] => {
    if (raw === 'all') return [...allowed];
    const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = names.filter((n) => !(allowed as readonly string[]).includes(n));
    if (bad.length || names.length === 0) throw new InvalidArgumentError(`expected a comma list of ${allowed.join(', ')} (got ${raw})`);
    // Keep the canonical order (the bench's: baseline first, so every later row has its ceiling measured).
    return allowed.filter((a) => names.includes(a));
  };
}

/** `--workers`: the same values as API_WORKERS. */
export function workerCount(raw: string): number {
  const n = parseWorkerCount(raw);
  if (n === undefined) throw new InvalidArgumentError(`must be ${WORKER_COUNT_RULE}`);
  return n;
}
