import type { Config } from '../../config.js';
import { createDeps, type Deps } from '../../deps.js';
import { PersistConsumer } from '../../async-issue/consumer/persist-consumer.js';

export interface RunningConsumer {
  readonly consumer: PersistConsumer;
  readonly deps: Deps;
  /** Finishes the batch in hand, then closes the pools. */
  close(): Promise<void>;
}

export function startConsumer(config: Config): RunningConsumer {
  const name = config.consumerName ?? PersistConsumer.defaultName();
  const deps = createDeps(config, 'coupon-consumer');
  const consumer = new PersistConsumer(deps, {
    name,
    batchSize: config.consumerBatchSize,
    claimIdleMs: config.consumerClaimIdleMs,
    maxAttempts: 3,
    maxDeliveries: 5,
  });
  deps.log.info({ name, batchSize: config.consumerBatchSize, claimIdleMs: config.consumerClaimIdleMs }, 'consumer started');
  const running = consumer.run();
  return {
    consumer,
    deps,
    async close() {
      consumer.stop();
      await running;
      deps.log.info({ ...consumer.stats }, 'consumer stopped');
      await deps.close();
    },
  };
}
