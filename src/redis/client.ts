import { Redis } from 'ioredis';

export type { Redis };

export function createRedis(url: string, name = 'fcfs-coupon'): Redis {
  return new Redis(url, {
    connectionName: name,
    // Fail a command fast while Redis is away (the API answers 503) instead of queueing it for long.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    lazyConnect: false,
  });
}
