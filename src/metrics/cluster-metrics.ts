import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Metrics } from './metrics.js';

/**
 * /metrics under API_WORKERS > 1. Only the primary reaches every worker, and it serves no HTTP:
 * whichever worker the kernel hands a scrape to asks the primary, which gathers each worker's
 * registry as JSON over IPC and sums them with prom-client's AggregatorRegistry.aggregate (by each
 * metric's `aggregator`: counters and histograms summed, the per-coupon gauges taken once).
 *
 * Not AggregatorRegistry#clusterMetrics: it asks every connected worker, including one restarted a
 * moment ago that is still loading and cannot answer, and then fails the whole scrape after 5 s
 * (seen: the scrape right after a kill -9 took 5.0 s and answered 500). Here only workers that said
 * they are ready are asked, and one that dies mid-scrape counts as empty (its counts died with it).
 */

const READY = 'coupon:metrics-ready';
const SCRAPE = 'coupon:scrape';
const SCRAPED = 'coupon:scraped';
const COLLECT = 'coupon:collect';
const COLLECTED = 'coupon:collected';

/** A worker's registry that does not answer within this fails the scrape; the worker waits a little longer for the primary's verdict. */
const COLLECT_TIMEOUT_MS = 5000;
const SCRAPE_TIMEOUT_MS = 6000;

type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
type Message =
  | { type: typeof READY }
  | { type: typeof SCRAPE | typeof COLLECT; id: number }
  | { type: typeof SCRAPED; id: number; text?: string; error?: string }
  | { type: typeof COLLECTED; id: number; metrics?: RegistryJson; error?: string };

const COUPON_TYPES: ReadonlySet<unknown> = new Set([READY, SCRAPE, SCRAPED, COLLECT, COLLECTED]);
const isMessage = (m: unknown): m is Message => typeof m === 'object' && m !== null && COUPON_TYPES.has((m as { type?: unknown }).type);

/** Answers awaited by key, each given up after `timeoutMs`. */
function awaitedAnswers<T>(timeoutMs: number, onTimeout: string) {
  const waiting = new Map<string, (answer: T | Error) => void>();
  return {
    wait(key: string, ask: () => void): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => settle(new Error(onTimeout)), timeoutMs);
        const settle = (answer: T | Error) => {
          clearTimeout(timer);
          waiting.delete(key);
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        };
        waiting.set(key, settle);
        ask();
      });
    },
    settle(key: string, answer: T | Error): void {
      waiting.get(key)?.(answer);
    },
  };
}

/** In the primary: answers the workers' scrapes with the sum over every ready worker. */
export function answerClusterScrapes(): void {
  const ready = new Set<Worker>();
  const collected = awaitedAnswers<RegistryJson>(COLLECT_TIMEOUT_MS, 'a worker did not hand over its metrics');
  let next = 0;

  const collect = (worker: Worker, id: number): Promise<RegistryJson> => {
    const key = `${worker.id}:${id}`;
    const gone = () => collected.settle(key, []);
    worker.once('exit', gone);
    return collected.wait(key, () => worker.send({ type: COLLECT, id } satisfies Message)).finally(() => worker.off('exit', gone));
  };

  cluster.on('exit', (worker) => ready.delete(worker));
  cluster.on('message', (worker: Worker, m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === READY) ready.add(worker);
    else if (m.type === COLLECTED) collected.settle(`${worker.id}:${m.id}`, m.metrics ?? new Error(m.error ?? 'no metrics'));
    else if (m.type === SCRAPE) {
      const id = next++;
      const reply = (answer: { text: string } | { error: string }) => {
        if (worker.isConnected()) worker.send({ type: SCRAPED, id: m.id, ...answer } satisfies Message);
      };
      Promise.all([...ready].filter((w) => w.isConnected()).map((w) => collect(w, id)))
        .then((all) => AggregatorRegistry.aggregate(all).metrics())
        .then((text) => reply({ text }), (err: Error) => reply({ error: err.message }));
    }
  });
}

/**
 * In a worker: answers the primary's requests for this registry, says it is ready to, and scrapes
 * through the primary from now on. Called before the worker serves or consumes.
 */
export function scrapeThroughPrimary(metrics: Metrics): Metrics {
  const scraped = awaitedAnswers<string>(SCRAPE_TIMEOUT_MS, 'metrics not aggregated: the primary did not answer');
  const send = (m: Message) => process.send?.(m);
  let next = 0;
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === COLLECT) {
      metrics.registry.getMetricsAsJSON().then(
        (json) => send({ type: COLLECTED, id: m.id, metrics: json }),
        (err: Error) => send({ type: COLLECTED, id: m.id, error: err.message }),
      );
    } else if (m.type === SCRAPED) {
      scraped.settle(String(m.id), m.text ?? new Error(`metrics not aggregated: ${m.error ?? 'no answer'}`));
    }
  });
  send({ type: READY });
  return {
    ...metrics,
    scrape: () => {
      const id = next++;
      return scraped.wait(String(id), () => send({ type: SCRAPE, id }));
    },
  };
}
