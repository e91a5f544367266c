/** How Redis failures are told apart: "not now" (out of reach, loading, failing over) versus a bug. */

/** Redis replies that mean "not now" (loading its data, busy script, failover), not "wrong". */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;
const DOWN_MESSAGES = [
  'Connection is closed', 'Command timed out', "Stream isn't writeable", 'Reached the max retries per request limit',
  'connect ECONNREFUSED', 'ERR max number of clients',
  // A cluster client while a master is down or being replaced (its slots without a reachable master).
  'Too many Cluster redirections', 'Failed to refresh slots cache', 'None of startup nodes is available', 'Node is disconnected',
];

/** A lock that stayed taken for the whole wait: contention, answered like an outage (try again). */
export class LockTimeoutError extends Error {
  constructor(key: string, waitMs: number) {
    super(`lock ${key} not acquired within ${waitMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

export function isRedisUnavailable(err: unknown): boolean {
  if (err instanceof LockTimeoutError) return true;
  if (!(err instanceof Error)) return false;
  if (DOWN_MESSAGES.some((m) => err.message.includes(m))) return true;
  return err.name === 'ReplyError' && TRANSIENT_REPLIES.test(err.message);
}
