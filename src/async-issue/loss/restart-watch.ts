import type { Redis } from 'ioredis';

function runIdOf(info: string): string | null {
  return /^run_id:(\w+)/m.exec(info)?.[1] ?? null;
}

/**
 * Calls `onRestart` when the client reconnects to a Redis that restarted meanwhile (its run_id
 * changed), which may have lost data (persistence off, or the everysec window). ioredis emits
 * 'ready' once Redis has finished loading its files. Returns a function that stops watching.
 */
export function watchRedisRestarts(redis: Redis, onRestart: () => void, onError: (err: Error) => void): () => void {
  let runId: string | null = null;
  const check = async () => {
    const id = runIdOf(await redis.info('server'));
    if (id === null) return;
    if (runId !== null && id !== runId) onRestart();
    runId = id;
  };
  const onReady = () => void check().catch(onError);
  redis.on('ready', onReady);
  if (redis.status === 'ready') onReady();
  return () => redis.off('ready', onReady);
}
