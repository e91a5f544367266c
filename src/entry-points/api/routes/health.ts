import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ping } from '../../../adapters/mysql/pool.js';
import type { Deps } from '../../../deps.js';
import { persistenceMonitor, survivesAtLeast, type RedisPersistence } from '../../../adapters/redis/persistence.js';

const TIMEOUT_MS = 1000;

const UpDown = Type.Union([Type.Literal('UP'), Type.Literal('DOWN')]);
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Health = Type.Object({
  status: UpDown, mysql: UpDown, redis: UpDown,
  redisPersistence: Type.Object({
    appendonly: Type.Union([Type.Boolean(), Type.Null()]),
    appendfsync: Nullable(Type.String()),
    survives: Type.Union(['power-loss', 'process-crash', 'nothing', 'unknown'].map((s) => Type.Literal(s))),
  }),
  load: Type.Union([Type.Literal('OK'), Type.Literal('OVERLOADED')]),
  pid: Type.Integer({ description: 'The process that answered: with API_WORKERS > 1, one of the workers sharing the port' }),
});

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

type PersistenceReport = Pick<RedisPersistence, 'appendonly' | 'appendfsync' | 'survives'>;
const UNKNOWN: PersistenceReport = { appendonly: null, appendfsync: null, survives: 'unknown' };

/** What a 202 survives now (settings can change at run time); unknown while Redis does not answer. */
async function redisPersistence(monitor: ReturnType<typeof persistenceMonitor>): Promise<PersistenceReport> {
  const p = await monitor.read().catch(() => null);
  return p ? { appendonly: p.appendonly, appendfsync: p.appendfsync, survives: p.survives } : UNKNOWN;
}

/** `isOverloaded`: the load shedding's verdict; while it holds, the other routes answer 503 at once. */
export function registerHealthRoutes(app: FastifyInstance, deps: Deps, isOverloaded: () => boolean = () => false): void {
  const monitor = persistenceMonitor(deps.redis);
  const required = deps.config.requireDurableRedis;
  app.get('/health', {
    schema: {
      tags: ['operations'], summary: 'Whether MySQL and Redis answer, what a 202 survives, and whether the process sheds load',
      response: {
        200: { ...Health, description: 'UP' },
        503: { ...Health, description: 'DOWN: MySQL or Redis does not answer, Redis is below REQUIRE_DURABLE_REDIS, or the process sheds load' },
      },
    },
  }, async (_req, reply) => {
    const [mysql, redis] = await Promise.all([check(() => ping(deps.db)), check(() => deps.redis.ping())]);
    const persistence = redis === 'UP' ? await redisPersistence(monitor) : UNKNOWN;
    // Under REQUIRE_DURABLE_REDIS a Redis reconfigured below the requirement takes the API out of rotation.
    const durable = required === null || survivesAtLeast(persistence.survives, required);
    const load = isOverloaded() ? 'OVERLOADED' : 'OK';
    const up = mysql === 'UP' && redis === 'UP' && durable && load === 'OK';
    return reply.status(up ? 200 : 503).send({ status: up ? 'UP' : 'DOWN', mysql, redis, redisPersistence: persistence, load, pid: process.pid });
  });
}
