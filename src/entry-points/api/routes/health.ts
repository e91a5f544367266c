import type { FastifyInstance } from 'fastify';
import { ping } from '../../../adapters/mysql/pool.js';
import type { Deps } from '../../../deps.js';

const TIMEOUT_MS = 1000;

async function check(probe: () => Promise<unknown>): Promise<'UP' | 'DOWN'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'UP';
  } catch {
    return 'DOWN';
  } finally {
    clearTimeout(timer);
  }
}

/** `isOverloaded`: the load shedding's verdict; while it holds, the other routes answer 503 at once. */
export function registerHealthRoutes(app: FastifyInstance, deps: Deps, isOverloaded: () => boolean = () => false): void {
  app.get('/health', async (_req, reply) => {
    const [mysql, redis] = await Promise.all([check(() => ping(deps.db)), check(() => deps.redis.ping())]);
    const load = isOverloaded() ? 'OVERLOADED' : 'OK';
    const up = mysql === 'UP' && redis === 'UP' && load === 'OK';
    return reply.status(up ? 200 : 503).send({ status: up ? 'UP' : 'DOWN', mysql, redis, load });
  });
}
