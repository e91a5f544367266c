/**
 * Every Redis key name is built here. The keys of one coupon share the hash tag {coupon:ID},
 * so a script touching them runs on Redis Cluster as on a single node.
 */
export function createKeys(prefix: string) {
  const coupon = (id: number) => `${prefix}{coupon:${id}}`;
  const users = (id: number) => `${coupon(id)}:users`;
  return {
    prefix,
    /** Distributed lock of the redis-lock strategy. */
    issueLock: (id: number) => `${coupon(id)}:lock`,
    /** Hash: total (-1 = unlimited), start, end (epoch ms). Its presence means the coupon is loaded. */
    rules: (id: number) => `${coupon(id)}:rules`,
    /** Hash: userId -> reserved at (epoch ms). Its length is the number of units taken. */
    users,
    /** Stream of reservations waiting to be written to MySQL. */
    stream: (id: number) => `${coupon(id)}:stream`,
    /**
     * Requests of one user (or one client address) on this coupon in one calendar second (epoch
     * seconds), for the rate limits. In the coupon's slot so that the reserve script counts them.
     */
    rateUser: (id: number, userId: number, second: number) => `${coupon(id)}:rate:u:${userId}:${second}`,
    rateIp: (id: number, ip: string, second: number) => `${coupon(id)}:rate:ip:${ip}:${second}`,
    /** Held while a coupon's Redis state is rebuilt from MySQL. */
    rebuildLock: (id: number) => `${coupon(id)}:rebuild-lock`,
    /**
     * The waiting room's keys, in the order every waiting-room script takes them (see
     * scripts/waiting-room-common.lua); the last is the async path's reservations hash.
     */
    waitingRoom: (id: number) => [
      `${coupon(id)}:wr:meta`, `${coupon(id)}:wr:line`, `${coupon(id)}:wr:pre`, `${coupon(id)}:wr:held`,
      `${coupon(id)}:wr:due`, `${coupon(id)}:wr:tickets`, `${coupon(id)}:wr:byuser`, users(id),
    ] as const,
    /** 'ROOM' or 'NO_ROOM': the waiting-room setting as last saved, read only while MySQL is out of reach. */
    waitingRoomSetting: (id: number) => `${coupon(id)}:wr:setting`,
    /**
     * Hash of one second's answers, summed over every API process (HINCRBY): `c:<CODE>` -> count,
     * `l:<bucket>` -> answers in that latency bucket. Short-lived: the live page reads the last seconds.
     */
    liveSecond: (id: number, epochSecond: number) => `${coupon(id)}:live:${epochSecond}`,
    /** Set of coupon ids whose stream the consumers read. */
    activeCoupons: `${prefix}active-coupons`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;

export const CONSUMER_GROUP = 'coupon-persisters';

/** The rules hash's `total` for a coupon without a limit. */
export const UNLIMITED_TOTAL = -1;
