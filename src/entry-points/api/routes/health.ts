import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ping } from '../../../adapters/mysql/pool.js';
import type { Deps } from '../../../deps.js';

const TIMEOUT_MS = 1000;

const UpDown = Type.Union([Type.Literal('UP'), Type.Literal('DOWN')]);
const Health = Type.Object({ status: UpDown, mysql: UpDown, redis: UpDown });

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

export function registerHealthRoutes(app: FastifyInstance, deps: Deps): void {
  app.get('/health', {
    schema: {
      tags: ['operations'], summary: 'Whether MySQL and Redis answer',
      response: {
        200: { ...Health, description: 'UP' },
        503: { ...Health, description: 'DOWN: MySQL or Redis does not answer' },
      },
    },
  }, async (_req, reply) => {
    const [mysql, redis] = await Promise.all([check(() => ping(deps.db)), check(() => deps.redis.ping())]);
    const up = mysql === 'UP' && redis === 'UP';
    return reply.status(up ? 200 : 503).send({ status: up ? 'UP' : 'DOWN', mysql, redis });
  });
}
