import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { PERSISTENCE_OFF, startRedisServer, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

export interface RedisCluster {
  /** 3 masters and 3 replicas, in the order started (which are masters changes with a failover). */
  readonly nodes: readonly RedisServer[];
  /** The value of REDIS_CLUSTER_NODES that reaches it. */
  readonly seeds: string;
  /** The node serving a key's slot as master now, as the cluster itself tells it. */
  masterOf(key: string): Promise<RedisServer>;
  /** The node replicating a master. */
  replicaOf(master: RedisServer): Promise<RedisServer>;
  /**
   * Freezes a master's replica (SIGSTOP) and cuts their link, so nothing the master accepts from
   * now on reaches it: asynchronous replication's window, held open. (A frozen replica alone is not
   * enough: the kernel keeps what the master sends, and the replica reads it on waking.)
   * `resume` sends SIGCONT; the replica then finds its master as it finds it (dead, in a failover test).
   */
  freezeReplica(master: RedisServer): Promise<{ replica: RedisServer; resume(): void }>;
  /**
   * Waits until every running node reports cluster_state:ok, has a running master for every slot
   * (after a kill: once the replica took over) and, if a replica, has synced with its master.
   */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their folders. */
  stop(): Promise<void>;
}

/**
 * How long a master may be out of reach before its replica takes over. Short, so a failover test
 * sees one within seconds; long enough that a busy shared machine does not fail nodes over by itself.
 */
export const CLUSTER_NODE_TIMEOUT_MS = 2000;

async function withClient<T>(server: RedisServer, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined); // a node just killed refuses: the caller decides
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

const alive = (s: RedisServer) => {
  try {
    process.kill(s.pid(), 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A real Redis Cluster of the caller's own: six `redis-server` processes on free ports (each its
 * own temp folder, no persistence), joined by `redis-cli --cluster create` into 3 masters with a
 * replica each, ready once every node reports cluster_state:ok. A node's kill9() is a crashed
 * master; its replica is promoted after CLUSTER_NODE_TIMEOUT_MS.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const args = [
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
    // Replicas sync at once, not after the default 5 s wait for more replicas to share one transfer.
    '--repl-diskless-sync-delay', '0', ...PERSISTENCE_OFF,
  ];
  const started = await Promise.allSettled(Array.from({ length: 6 }, () => startRedisServer(args)));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => { await Promise.all(nodes.map((n) => n.stop())); };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const waitUntilOk = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = nodes.filter(alive);
      const states = await Promise.all(running.map((n) => withClient(n, async (c) => {
        const info = await c.cluster('INFO');
        // A node killed a moment ago still serves its slots in the others' eyes until they time it out.
        const masters = (await c.cluster('SLOTS')).map((range) => range[2]?.[1]);
        // A replica that has not synced yet would never be promoted (its data counts as too old).
        const synced = !/^role:slave/m.test(await c.info('replication')) || /^master_link_status:up/m.test(await c.info('replication'));
        return /cluster_state:ok/.test(info) && synced && masters.every((port) => running.some((n) => n.port === port));
      }).catch(() => false)));
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`redis cluster not ok within ${timeoutMs} ms`);
      await sleep(100);
    }
  };
  try {
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
    await waitUntilOk();
  } catch (err) {
    await stop();
    throw err;
  }
  const replicaOf = async (master: RedisServer) => {
    const info = await withClient(master, (c) => c.info('replication'));
    const port = Number(/^slave0:.*port=(\d+)/m.exec(info)?.[1]);
    const replica = nodes.find((n) => n.port === port);
    if (!replica) throw new Error(`no replica of 127.0.0.1:${master.port}`);
    return replica;
  };
  return {
    nodes,
    replicaOf,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    waitUntilOk,
    async masterOf(key) {
      const asker = nodes.find(alive);
      if (!asker) throw new Error('no node of the cluster is running');
      const port = await withClient(asker, async (c) => {
        const slot = Number(await c.cluster('KEYSLOT', key));
        const ranges = await c.cluster('SLOTS');
        return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
      });
      const master = nodes.find((n) => n.port === port);
      if (!master) throw new Error(`no node serves the slot of ${key}`);
      return master;
    },
    async freezeReplica(master) {
      const replica = await replicaOf(master);
      process.kill(replica.pid(), 'SIGSTOP');
      await withClient(master, (c) => c.client('KILL', 'TYPE', 'replica'));
      return { replica, resume: () => process.kill(replica.pid(), 'SIGCONT') };
    },
    stop,
  };
}
