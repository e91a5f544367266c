import { isRedisUnavailable } from '../adapters/redis/redis-errors.js';
import type { RateLimitArgs, RateLimitOutcome, Scripts } from '../adapters/redis/scripts.js';
import { RateLimitedError } from '../errors.js';

/** How many refusals are remembered at most; beyond it the oldest go (remembering is only a shortcut). */
const MAX_REMEMBERED = 100_000;

// Immutable, so shared by every refused request of a flood.
const BY_USER = new RateLimitedError('user');
const BY_IP = new RateLimitedError('ip');

/**
 * RATE_LIMIT_PER_USER and RATE_LIMIT_PER_IP: requests per calendar second on one coupon, counted in
 * Redis so every API process shares them. The async path counts inside its reserve script (no extra
 * round trip); the sync path calls check(). A refusal is remembered until its second ends: the count
 * can only grow within it, so asking Redis again would give the same answer, and a script hammering
 * the API is refused from memory.
 */
export class RateLimiter {
  /** "u:coupon:user" or "ip:coupon:address" -> the second in which it was refused. */
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly scripts: Pick<Scripts, 'checkRateLimits'>,
    readonly perUser: number,
    readonly perIp: number,
  ) {}

  get enabled(): boolean {
    return this.perUser > 0 || this.perIp > 0;
  }

  /** What the scripts take for a request from this address. */
  args(ip: string): RateLimitArgs {
    // An address comes from the socket or, with TRUST_PROXY, a header: keep a key short whatever it holds.
    return { ip: ip.length > 64 ? ip.slice(0, 64) : ip, perUser: this.perUser, perIp: this.perIp };
  }

  /** The refusal already given in this second to this user or address on this coupon, if any. */
  remembered(couponId: number, userId: number, ip: string, nowMs: number): RateLimitedError | null {
    if (!this.enabled || this.refused.size === 0) return null;
    const second = Math.floor(nowMs / 1000);
    if (this.perUser > 0 && this.refused.get(`u:${couponId}:${userId}`) === second) return BY_USER;
    if (this.perIp > 0 && this.refused.get(`ip:${couponId}:${ip}`) === second) return BY_IP;
    return null;
  }

  /** Turns a script's limit outcome into the refusal (remembered for the rest of its second), or null. */
  note(outcome: RateLimitOutcome | string, couponId: number, userId: number, ip: string, nowMs: number): RateLimitedError | null {
    if (outcome !== 'RATE_LIMITED_USER' && outcome !== 'RATE_LIMITED_IP') return null;
    const second = Math.floor(nowMs / 1000);
    const byUser = outcome === 'RATE_LIMITED_USER';
    this.remember(byUser ? `u:${couponId}:${userId}` : `ip:${couponId}:${ip}`, second);
    return byUser ? BY_USER : BY_IP;
  }

  /**
   * The sync path's check: one Redis round trip (it is about to do MySQL work anyway). Redis out of
   * reach lets the request through: the limits guard the service, their outage must not stop it.
   */
  async check(couponId: number, userId: number, ip: string, nowMs: number): Promise<RateLimitedError | null> {
    if (!this.enabled) return null;
    const known = this.remembered(couponId, userId, ip, nowMs);
    if (known) return known;
    try {
      return this.note(await this.scripts.checkRateLimits(couponId, userId, nowMs, this.args(ip)), couponId, userId, ip, nowMs);
    } catch (err) {
      if (isRedisUnavailable(err)) return null;
      throw err;
    }
  }

  private remember(key: string, second: number): void {
    this.refused.delete(key); // re-insert: Map order is then oldest second first
    this.refused.set(key, second);
    for (const [oldKey, oldSecond] of this.refused) {
      if (oldSecond >= second && this.refused.size <= MAX_REMEMBERED) break;
      this.refused.delete(oldKey);
    }
  }
}
