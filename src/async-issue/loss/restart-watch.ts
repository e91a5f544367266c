import { addressOf, nodeServing, nodesOf, type Redis } from '../../adapters/redis/client.js';

function runIdOf(info: string): string | null {
  return /^run_id:(\w+)/m.exec(info)?.[1] ?? null;
}

/** How often the run_ids are read besides each reconnect: a restart seen late is still seen. */
const POLL_MS = 5000;

/** Which keys a restart or failover may have cost data: true for those served by the nodes concerned. */
export type Affected = (key: string) => boolean;

async function runIds(redis: Redis): Promise<{ address: string; runId: string }[]> {
  const read = await Promise.allSettled((await nodesOf(redis)).map(async (node) => ({ address: addressOf(node), runId: runIdOf(await node.info('server')) })));
  return read.flatMap((r) => (r.status === 'fulfilled' && r.value.runId !== null ? [{ address: r.value.address, runId: r.value.runId }] : []));
}

/**
 * Calls `onRestart` when a node holding data may have lost some since last seen: the one Redis
 * restarted (its run_id changed: persistence off, or the everysec window), or on a cluster a master
 * is one never seen as a master before: a restarted master, or a replica a failover promoted, which
 * lacks what the dead master had not yet replicated to it (replication is asynchronous).
 * ioredis emits 'ready' once Redis has finished loading its files, and a cluster client 'refresh'
 * each time it reloads the slot map; the run_ids are also read every few seconds, so a read that
 * failed (a timeout under load, a node down) does not hide the change for good.
 * When `onRestart` fails, the next check calls it again. Returns a function that stops watching.
 */
export function watchRedisRestarts(redis: Redis, onRestart: (affected: Affected) => Promise<void>, onError: (err: Error) => void): () => void {
  // Every run_id seen serving as a master: a run_id names one process's life, so none comes back.
  let seen: Set<string> | null = null;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const masters = await runIds(redis);
      if (masters.length === 0) return;
      const freshMasters = masters.filter((m) => seen !== null && !seen.has(m.runId));
      seen = new Set([...(seen ?? []), ...masters.map((m) => m.runId)]);
      if (freshMasters.length === 0) return;
      const fresh = new Set(freshMasters.map((m) => m.address));
      try {
        await onRestart((key) => { const node = nodeServing(redis, key); return node !== undefined && fresh.has(addressOf(node)); });
      } catch (err) {
        // Not done (a failover's commands fail for a while): unseen again, so the next check retries.
        for (const m of freshMasters) seen.delete(m.runId);
        throw err;
      }
    } finally {
      checking = false;
    }
  };
  const event = redis.isCluster ? 'refresh' : 'ready';
  const onReady = () => void check().catch(onError);
  redis.on(event, onReady);
  if (redis.status === 'ready') onReady();
  const poll = setInterval(() => { if (redis.status === 'ready') onReady(); }, POLL_MS);
  poll.unref();
  return () => {
    clearInterval(poll);
    redis.off(event, onReady);
  };
}
