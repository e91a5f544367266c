import type { Config } from '../../config.js';
import { createDeps, type Deps } from '../../deps.js';
import { PersistConsumer } from '../../async-issue/consumer/persist-consumer.js';
import { registerConsumerMetrics } from '../../metrics/consumer-metrics.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { serveMetrics } from '../../metrics/metrics-server.js';

export interface RunningConsumer {
  readonly consumer: PersistConsumer;
  readonly deps: Deps;
  /** Finishes the batch in hand, then closes the pools. */
  close(): Promise<void>;
}

export interface ConsumerStartOptions {
  /** Register the consumer's metrics here (`coupon start`: the API serves them); otherwise served on METRICS_PORT. */
  readonly metrics?: Metrics;
}

export function startConsumer(config: Config, opts: ConsumerStartOptions = {}): RunningConsumer {
  const name = config.consumerName ?? PersistConsumer.defaultName();
  const deps = createDeps(config, 'coupon-consumer');
  const metrics = opts.metrics ?? (config.metricsEnabled ? createMetrics() : undefined);
  let observeBatch: ((seconds: number) => void) | undefined;
  const consumer = new PersistConsumer(deps, {
    name,
    batchSize: config.consumerBatchSize,
    claimIdleMs: config.consumerClaimIdleMs,
    maxAttempts: 3,
    maxDeliveries: 5,
    onBatchPersisted: (seconds) => observeBatch?.(seconds),
  });
  if (metrics) observeBatch = registerConsumerMetrics(metrics.registry, consumer.stats);
  // Its own port only when no API serves the metrics; a port taken costs the metrics, never the drain.
  const server = metrics && !opts.metrics
    ? serveMetrics(metrics.registry, config.metricsPort, config.host).then(
      (s) => {
        deps.log.info({ port: s.port }, 'consumer metrics on /metrics');
        return s;
      },
      (err: Error) => {
        deps.log.error({ err: err.message, port: config.metricsPort }, 'consumer metrics not served; consuming without them');
        return undefined;
      })
    : undefined;
  deps.log.info({ name, batchSize: config.consumerBatchSize, claimIdleMs: config.consumerClaimIdleMs }, 'consumer started');
  const running = consumer.run();
  return {
    consumer,
    deps,
    async close() {
      consumer.stop();
      await running;
      await (await server)?.close();
      deps.log.info({ ...consumer.stats }, 'consumer stopped');
      await deps.close();
    },
  };
}
