import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { createDeps, type Deps } from '../../deps.js';
import { buildApp, type AppOptions } from './app.js';
import { checkRedisDurability } from './durability.js';

export interface RunningApi {
  readonly app: FastifyInstance;
  readonly deps: Deps;
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish, then closes the pools. */
  close(): Promise<void>;
}

export async function startApi(config: Config, opts: Pick<AppOptions, 'metrics'> = {}): Promise<RunningApi> {
  const deps = createDeps(config, 'coupon-api');
  try {
    await checkRedisDurability(deps);
  } catch (err) {
    await deps.close();
    throw err;
  }
  const app = await buildApp(deps, opts);
  const address = await app.listen({ port: config.port, host: config.host });
  deps.log.info({ address, strategy: config.issueStrategy }, 'api listening');
  return {
    app,
    deps,
    url: address,
    async close() {
      await app.close();
      await deps.close();
    },
  };
}
