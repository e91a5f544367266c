import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import type { Config } from '../../config.js';
import { answerClusterScrapes } from '../../metrics/cluster-metrics.js';
import { onShutdownSignal } from './shutdown.js';

/** What a worker runs: the `coupon` command of that name, as a process of its own. */
type Role = 'api' | 'consumer';

export interface WorkerPlan {
  /** API processes sharing PORT. */
  readonly api: number;
  /** One consumer beside them (`coupon start`). */
  readonly consumer: boolean;
}

/** A worker that dies sooner than this after its start counts as failing again: its replacement waits longer. */
const STABLE_AFTER_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * The primary of API_WORKERS > 1: forks the workers (each runs `coupon api` or `coupon consumer`,
 * the very commands a single process runs), restarts one that dies with a growing delay, answers
 * the workers' /metrics with the sum over all of them, and on SIGINT/SIGTERM stops the API workers
 * (each finishes its in-flight requests), then the consumer (so it drains what they accepted).
 * It serves nothing itself; its pid is the service's, the workers are its children, and a worker
 * whose primary dies exits with it (node:cluster), so none is left behind. Nothing that must be exact
 * lives in one worker's memory (the audit: README, "Several API processes").
 */
export function superviseWorkers(config: Config, plan: WorkerPlan): void {
  const log = pino({ name: 'coupon-primary', level: config.logLevel });
  answerClusterScrapes();
  const started = new Map<Worker, { role: Role; at: number }>();
  const failing: Record<Role, number> = { api: 0, consumer: 0 };
  let stopping = false;
  let served = false;

  const fork = (role: Role): void => {
    cluster.setupPrimary({ args: [role] }); // read at fork time: each fork runs its own command
    started.set(cluster.fork(), { role, at: Date.now() });
  };

  const stopRole = (role: Role) => Promise.all([...started].filter(([, s]) => s.role === role).map(([worker]) =>
    new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      worker.process.kill('SIGTERM');
    })));
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await stopRole('api');
    await stopRole('consumer');
  };

  cluster.on('listening', (worker) => {
    served = true;
    log.info({ workerPid: worker.process.pid }, 'api worker listening');
  });
  cluster.on('exit', (worker, code, signal) => {
    const s = started.get(worker);
    started.delete(worker);
    if (!s || stopping) return;
    const workerPid = worker.process.pid;
    if (s.role === 'api' && !served && signal === null) {
      // It quit before any worker served: what it refuses (REQUIRE_DURABLE_REDIS unmet) fails the service as in one process.
      log.error({ workerPid, code, signal }, 'api worker exited before serving; stopping');
      void stopAll().then(() => process.exit(code || 1));
      return;
    }
    const livedMs = Date.now() - s.at;
    failing[s.role] = livedMs < STABLE_AFTER_MS ? failing[s.role] + 1 : 0;
    const restartInMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, failing[s.role] - 1));
    log.error({ role: s.role, workerPid, code, signal, livedMs, restartInMs }, `${s.role} worker died; restarting it`);
    setTimeout(() => { if (!stopping) fork(s.role); }, restartInMs);
  });

  onShutdownSignal(stopAll);
  for (let i = 0; i < plan.api; i++) fork('api');
  if (plan.consumer) fork('consumer');
  log.info({ apiWorkers: plan.api, consumer: plan.consumer }, 'primary started');
}
