import { availableParallelism } from 'node:os';
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

export const WRK_INSTALL = 'apt-get install -y wrk';

/**
 * autocannon's worker threads when not asked for: half the cores, the other half left to the server
 * side (on our 2 cores: 1, which reached the baseline's ceiling); the generator check shows whether more would do more.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * `auto` prefers wrk: on our 2 cores it reaches the server's ceiling where autocannon costs the server
 * more CPU. Without wrk it says so (`note`) and falls back to autocannon.
 */
export function chooseGenerator(
  requested: GeneratorName | 'auto', workers: number | undefined, wrkThreads: number, note: (line: string) => void, hasWrk = wrkAvailable(),
): GeneratorChoice {
  if (requested === 'wrk' && !hasWrk) throw new Error(`--generator wrk: wrk is not installed (${WRK_INSTALL})`);
  const generator = requested === 'auto' ? (hasWrk ? 'wrk' : 'autocannon') : requested;
  const choice = { generator, workers: workers ?? defaultWorkers(), wrkThreads };
  if (requested === 'auto' && !hasWrk) note(`wrk is not installed: using autocannon with ${choice.workers} worker(s) (install wrk for the lighter generator: ${WRK_INSTALL})`);
  return choice;
}

/** The same generator with one more thread (wrk) or worker (autocannon): what the generator check compares against. */
export function strongerChoice(choice: GeneratorChoice): GeneratorChoice {
  return choice.generator === 'wrk' ? { ...choice, wrkThreads: choice.wrkThreads + 1 } : { ...choice, workers: choice.workers + 1 };
}

export function describeChoice(choice: GeneratorChoice, connections: number): string {
  return choice.generator === 'wrk' ? `wrk -t${choice.wrkThreads} -c${connections}` : `autocannon -w${choice.workers} -c${connections}`;
}

/** The open model (a fixed arrival rate) is ours whatever the generator: neither tool here has one without coordinated omission. */
export function runLoad(phase: LoadPhase, choice: GeneratorChoice): Promise<LoadResult> {
  if (phase.rate !== null) return runOpenModel(phase);
  return choice.generator === 'wrk'
    ? runWrk(phase, { threads: choice.wrkThreads, countResponses: true })
    : runAutocannon(phase, choice.workers);
}
