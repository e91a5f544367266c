import type { Config } from '../../config.js';
import { createDeps, type Deps } from '../../deps.js';

/** Runs a one-shot command over the shared pools, closing them however it ends. */
export async function withDeps<T>(config: Config, name: string, fn: (deps: Deps) => Promise<T>): Promise<T> {
  const deps = createDeps(config, name);
  try {
    return await fn(deps);
  } finally {
    await deps.close();
  }
}
