/**
 * Every Redis key name is built here. The keys of one coupon share the hash tag {coupon:ID},
 * so a script touching them runs on Redis Cluster as on a single node.
 */
export function createKeys(prefix: string) {
  const coupon = (id: number) => `${prefix}{coupon:${id}}`;
  return {
    prefix,
    /** Distributed lock of the redis-lock strategy. */
    issueLock: (id: number) => `${coupon(id)}:lock`,
    /** Hash: total (-1 = unlimited), start, end (epoch ms). Its presence means the coupon is loaded. */
    rules: (id: number) => `${coupon(id)}:rules`,
    /** Hash: userId -> reserved at (epoch ms). Its length is the number of units taken. */
    users: (id: number) => `${coupon(id)}:users`,
    /** Stream of reservations waiting to be written to MySQL. */
    stream: (id: number) => `${coupon(id)}:stream`,
    /** Held while a coupon's Redis state is rebuilt from MySQL. */
    rebuildLock: (id: number) => `${coupon(id)}:rebuild-lock`,
    /**
     * Hash of one second's answers, summed over every API process (HINCRBY): `c:<CODE>` -> count,
     * `l:<bucket>` -> answers in that latency bucket. Short-lived: the live page reads the last seconds.
     */
    liveSecond: (id: number, epochSecond: number) => `${coupon(id)}:live:${epochSecond}`,
    /** Set of coupon ids whose stream the consumers read. */
    activeCoupons: `${prefix}active-coupons`,
    /** Stream of entries the consumer could not persist, with the reason. */
    deadLetter: `${prefix}dead-letter`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;

export const CONSUMER_GROUP = 'coupon-persisters';

/** The rules hash's `total` for a coupon without a limit. */
export const UNLIMITED_TOTAL = -1;
