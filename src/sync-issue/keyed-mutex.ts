import { Mutex } from 'async-mutex';

/** One async mutex per key, dropped when nobody holds or waits for it, so the map does not grow forever. */
export class KeyedMutex<K> {
  private readonly entries = new Map<K, { mutex: Mutex; users: number }>();

  async runExclusive<T>(key: K, fn: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    try {
      return await entry.mutex.runExclusive(fn);
    } finally {
      if (--entry.users === 0) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
