import { aofArgs, PERSISTENCE_OFF } from '../harness/redis-server.js';

/**
 * Named presets `coupon bench --variants` runs the strategies under: environment for the API and
 * the consumer children, and the Redis they use. `shared` is REDIS_URL; a private one is a
 * redis-server the bench starts for the variant on a free port, in a temp folder (--dir), with
 * these arguments, and stops after it. Adding a preset is adding a line.
 */
export interface BenchVariant {
  readonly name: string;
  readonly apiEnv: Readonly<Record<string, string>>;
  readonly consumerEnv: Readonly<Record<string, string>>;
  readonly redis?: 'shared' | { readonly privateServerArgs: readonly string[] };
  /**
   * `jwt`: the API runs with AUTH_MODE=jwt, a JWT_SECRET and an ADMIN_TOKEN the bench makes per run,
   * and every request carries a token for its user, signed before the load (bench-tokens.ts).
   */
  readonly identity?: 'jwt';
}

/**
 * Rate limits counted (inside the reserve script on the async path) but never reached: real values
 * would answer 429 to the bench's repeat users, all of whom come from one address.
 */
const LIMITS_NEVER_REFUSE = { RATE_LIMIT_PER_USER: '1000000000', RATE_LIMIT_PER_IP: '1000000000' };

export const VARIANTS = [
  { name: 'default', apiEnv: {}, consumerEnv: {} },
  { name: 'redis-persistence-off', apiEnv: {}, consumerEnv: {}, redis: { privateServerArgs: PERSISTENCE_OFF } },
  { name: 'redis-aof-always', apiEnv: {}, consumerEnv: {}, redis: { privateServerArgs: aofArgs('always') } },
  { name: 'redis-aof-everysec', apiEnv: {}, consumerEnv: {}, redis: { privateServerArgs: aofArgs('everysec') } },
  // What recording answers costs: the same run with /metrics, answer counters and the consistency watch off.
  { name: 'metrics-off', apiEnv: { METRICS_ENABLED: '0' }, consumerEnv: { METRICS_ENABLED: '0' } },
  // What identity costs: counting the limits, then that plus verifying a token per request (jwt turns limits on).
  { name: 'limits-on', apiEnv: LIMITS_NEVER_REFUSE, consumerEnv: {} },
  { name: 'jwt', apiEnv: LIMITS_NEVER_REFUSE, consumerEnv: {}, identity: 'jwt' },
] as const satisfies readonly BenchVariant[];

export type VariantName = (typeof VARIANTS)[number]['name'];
export const VARIANT_NAMES: readonly VariantName[] = VARIANTS.map((v) => v.name);

export function variantOf(name: VariantName): BenchVariant {
  const v: BenchVariant | undefined = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown bench variant ${name}`);
  return v;
}
