import type { Redis } from 'ioredis';

function runIdOf(info: string): string | null {
  return /^run_id:(\w+)/m.exec(info)?.[1] ?? null;
}

/** How often the run_id is read besides each reconnect: a restart seen late is still seen. */
const POLL_MS = 5000;

/**
 * Calls `onRestart` when the client reconnects to a Redis that restarted meanwhile (its run_id
 * changed), which may have lost data (persistence off, or the everysec window). ioredis emits
 * 'ready' once Redis has finished loading its files; the run_id is also read every few seconds, so
 * a read that failed at the reconnect (a timeout under load) does not hide the restart for good.
 * Returns a function that stops watching.
 */
export function watchRedisRestarts(redis: Redis, onRestart: () => void, onError: (err: Error) => void): () => void {
  let runId: string | null = null;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const id = runIdOf(await redis.info('server'));
      if (id === null) return;
      if (runId !== null && id !== runId) onRestart();
      runId = id;
    } finally {
      checking = false;
    }
  };
  const onReady = () => void check().catch(onError);
  redis.on('ready', onReady);
  if (redis.status === 'ready') onReady();
  const poll = setInterval(() => { if (redis.status === 'ready') onReady(); }, POLL_MS);
  poll.unref();
  return () => {
    clearInterval(poll);
    redis.off('ready', onReady);
  };
}
