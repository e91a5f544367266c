import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis as RedisNode } from 'ioredis';

/**
 * One Redis node or a Redis Cluster: every command the service sends names keys of one hash slot
 * (a coupon's keys share {coupon:ID}), so both run it. What needs a node (INFO, CONFIG, SCAN) goes
 * through `nodesOf`.
 */
export type Redis = RedisNode | Cluster;
export type { RedisNode };

/** Where Redis is: a URL, or a cluster's seed nodes (`host:port`), which then win. */
export interface RedisTarget {
  readonly redisUrl: string;
  readonly redisClusterNodes: readonly string[] | null;
}

/** The nodes that hold data: the one node, or every master of a cluster (as its slot map knows them). */
export async function nodesOf(redis: Redis): Promise<RedisNode[]> {
  if (!redis.isCluster) return [redis as RedisNode];
  // Until its first slot map a cluster client knows no master: a command waits for it.
  if (redis.status !== 'ready') await redis.ping();
  return (redis as Cluster).nodes('master');
}

export const addressOf = (node: RedisNode): string => `${node.options.host ?? ''}:${node.options.port ?? ''}`;

/** The connection to the master serving a key's slot, as this client's slot map has it (the one node, on one Redis). */
export function nodeServing(redis: Redis, key: string): RedisNode | undefined {
  if (!redis.isCluster) return redis as RedisNode;
  const address = (redis as Cluster).slots[calculateSlot(key)]?.[0];
  return (redis as Cluster).nodes('master').find((n) => addressOf(n) === address);
}

/**
 * WAIT on the connection that sent the key's writes: resolves with how many replicas acknowledged
 * every write sent there so far, once `replicas` did or `timeoutMs` passed (0 when no node is known).
 */
export async function waitForReplicas(redis: Redis, key: string, replicas: number, timeoutMs: number): Promise<number> {
  const node = nodeServing(redis, key);
  return node ? node.wait(replicas, timeoutMs) : 0;
}

/** Deletes every key under a prefix (tests, bench and demo own theirs), without blocking Redis on KEYS. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  // SCAN walks one node's keys: a cluster's keys are spread over its masters.
  await Promise.all((await nodesOf(redis)).map(async (node) => {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One UNLINK per key: a node refuses a multi-key command whose keys span slots.
      if (keys.length > 0) await Promise.all(keys.map((k) => node.unlink(k)));
    } while (cursor !== '0');
  }));
}

// Fail a command fast while Redis is away (the API answers 503) instead of queueing it for long.
// Commands issued in one event-loop turn leave in one write (one per node on a cluster): under a flood,
// Redis reads and answers a batch per turn instead of one command per syscall (its CPU per reservation 26 -> 12 µs).
const NODE_OPTIONS = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 5000, enableAutoPipelining: true } as const;
const retryDelay = (times: number) => Math.min(times * 100, 1000);

export function createRedis(target: RedisTarget, name = 'fcfs-coupon'): Redis {
  if (target.redisClusterNodes) {
    return new Cluster([...target.redisClusterNodes], {
      redisOptions: { ...NODE_OPTIONS, connectionName: name },
      clusterRetryStrategy: retryDelay,
      // Reads go to masters: a replica may lag, and a reservation is decided on what the master holds.
      scaleReads: 'master',
      enableAutoPipelining: true,
      // A promoted replica is learnt within this, even by a process whose commands never hit the dead master.
      slotsRefreshInterval: 2000,
      lazyConnect: false,
    });
  }
  return new RedisNode(target.redisUrl, { ...NODE_OPTIONS, connectionName: name, retryStrategy: retryDelay, lazyConnect: false });
}
