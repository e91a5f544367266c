import { runAutocannon } from './autocannon-generator.js';
import type { GeneratorName, LoadPhase, LoadResult } from './load-result.js';
import { runOpenModel } from './open-model.js';
import { runWrk, wrkAvailable } from './wrk-generator.js';

export interface GeneratorChoice {
  readonly generator: GeneratorName;
  /** autocannon worker threads. */
  readonly workers: number;
  readonly wrkThreads: number;
}

/** `auto` prefers wrk: on our 2 cores it reaches the server's ceiling where autocannon stops short. */
export function resolveGenerator(requested: GeneratorName | 'auto'): GeneratorName {
  if (requested === 'auto') return wrkAvailable() ? 'wrk' : 'autocannon';
  if (requested === 'wrk' && !wrkAvailable()) throw new Error('--generator wrk: wrk is not installed (apt-get install wrk)');
  return requested;
}

/** The open model (a fixed arrival rate) is ours whatever the generator: neither tool here has one without coordinated omission. */
export function runLoad(phase: LoadPhase, choice: GeneratorChoice): Promise<LoadResult> {
  if (phase.rate !== null) return runOpenModel(phase);
  return choice.generator === 'wrk'
    ? runWrk(phase, { threads: choice.wrkThreads, countResponses: true })
    : runAutocannon(phase, choice.workers);
}
