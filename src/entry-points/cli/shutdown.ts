import cluster from 'node:cluster';

/**
 * Runs stop() once on the first SIGINT/SIGTERM; a second signal exits at once. A cluster worker
 * stops on SIGTERM alone, which its primary sends: a Ctrl-C reaches the primary and every worker of
 * the terminal's process group at once, and would otherwise count as the first of two signals.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const signals = cluster.isWorker ? ['SIGTERM'] as const : ['SIGINT', 'SIGTERM'] as const;
  if (cluster.isWorker) process.on('SIGINT', () => undefined);
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      stop(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    });
  }
}
