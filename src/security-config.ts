import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { ConfigError } from './config-error.js';

/** Who the caller is: `none` trusts the body's userId (local runs, demo, bench); `jwt` takes it from a verified token. */
export const AUTH_MODES = ['none', 'jwt'] as const;
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** RFC 7518 §3.2: an HS256 key at least as long as the hash. */
const MIN_SECRET_LENGTH = 32;
const MB = 1024 * 1024;

const count = z.coerce.number().int().min(0);

/** The variables of this module, merged into config.ts's schema (same parsing, same one-line errors). */
export const SECURITY_ENV = {
  AUTH_MODE: z.enum(AUTH_MODES).default('none'),
  JWT_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
  /** A PEM (SPKI) public key, or the path of a file holding one. */
  JWT_PUBLIC_KEY: z.string().optional(),
  JWT_ALGORITHM: z.enum(JWT_ALGORITHMS, `must be one of ${JWT_ALGORITHMS.join(', ')}`).optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  /** Requests per second on the issue endpoints; 0 = off. Defaults depend on AUTH_MODE (see securityConfig). */
  RATE_LIMIT_PER_USER: count.max(1_000_000_000).optional(),
  RATE_LIMIT_PER_IP: count.max(1_000_000_000).optional(),
  /** false (default), true, a number of proxy hops, or a comma-separated list of proxy addresses / CIDRs. */
  TRUST_PROXY: z.string().optional(),
  MAX_CONNECTIONS: count.min(1).default(10_000),
  /** Longest a request may take to arrive, headers and body; a stalled client is cut off with a 408. */
  REQUEST_TIMEOUT_MS: count.min(100).max(30_000).default(10_000),
  /** Idle time a kept-alive connection is held between requests (above a load balancer's own idle timeout). */
  KEEP_ALIVE_TIMEOUT_MS: count.min(100).max(600_000).default(72_000),
  /** Load shedding: answer 503 at once while the mean event-loop delay or the heap is above these (0 = off). */
  OVERLOAD_EVENT_LOOP_DELAY_MS: count.default(1000),
  OVERLOAD_HEAP_USED_MB: count.optional(),
};

type SecurityEnv = z.infer<z.ZodObject<typeof SECURITY_ENV>>;

export interface JwtConfig {
  readonly algorithm: JwtAlgorithm;
  /** HS256: the secret's bytes; RS256/ES256: the public key. */
  readonly key: Uint8Array | KeyObject;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
}

export type TrustProxy = boolean | number | string;

export type SecurityConfig = Readonly<{
  authMode: (typeof AUTH_MODES)[number];
  /** Set when authMode is jwt. */
  jwt: JwtConfig | undefined;
  rateLimitPerUser: number;
  rateLimitPerIp: number;
  trustProxy: TrustProxy;
  maxConnections: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  overloadEventLoopDelayMs: number;
  overloadHeapUsedBytes: number;
}>;

/**
 * Limits are on by default only where the identity is verified (jwt): with `none` the service
 * behaves as before (local runs, the demo and the bench fire everything from one address).
 * Per user: 10/s on one coupon is far above a person pressing a button, and stops a script hammering it.
 * Per IP: 100/s leaves room for a crowd behind one NAT or carrier gateway. Behind a proxy, TRUST_PROXY
 * must be set, or every client shares the proxy's address (README, "Security").
 */
const DEFAULT_LIMITS = { none: { user: 0, ip: 0 }, jwt: { user: 10, ip: 100 } } as const;

function parseTrustProxy(raw: string | undefined): TrustProxy {
  const v = raw?.trim() ?? '';
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^[1-9][0-9]?$/.test(v)) return Number(v);
  const presets = ['loopback', 'linklocal', 'uniquelocal'];
  for (const entry of v.split(',').map((s) => s.trim())) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!(presets.includes(entry) || (family !== 0 && prefixOk && rest.length === 0))) {
      throw new ConfigError(`invalid TRUST_PROXY: ${JSON.stringify(entry)} is not true/false, a hop count, an address, a CIDR or loopback/linklocal/uniquelocal`);
    }
  }
  return v;
}

function readPublicKey(raw: string): KeyObject {
  let pem = raw;
  if (!raw.trimStart().startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(raw, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid JWT_PUBLIC_KEY: neither a PEM nor a readable file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  try {
    return createPublicKey(pem);
  } catch {
    throw new ConfigError('invalid JWT_PUBLIC_KEY: not a PEM public key');
  }
}

/** The algorithm a public key can verify: RSA -> RS256, P-256 -> ES256. */
function algorithmOf(key: KeyObject): JwtAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

function jwtConfig(e: SecurityEnv): JwtConfig {
  if (e.JWT_SECRET !== undefined && e.JWT_PUBLIC_KEY !== undefined) {
    throw new ConfigError('invalid JWT_SECRET: set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both');
  }
  const common = { issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE };
  if (e.JWT_SECRET !== undefined) {
    if (e.JWT_ALGORITHM !== undefined && e.JWT_ALGORITHM !== 'HS256') {
      throw new ConfigError(`invalid JWT_ALGORITHM: ${e.JWT_ALGORITHM} needs JWT_PUBLIC_KEY; JWT_SECRET is for HS256`);
    }
    return { algorithm: 'HS256', key: new TextEncoder().encode(e.JWT_SECRET), ...common };
  }
  if (e.JWT_PUBLIC_KEY === undefined) {
    throw new ConfigError('invalid AUTH_MODE: jwt needs JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256)');
  }
  const key = readPublicKey(e.JWT_PUBLIC_KEY);
  const fits = algorithmOf(key);
  if (fits === undefined) throw new ConfigError('invalid JWT_PUBLIC_KEY: only RSA (RS256) and P-256 (ES256) keys are supported');
  if (e.JWT_ALGORITHM !== undefined && e.JWT_ALGORITHM !== fits) {
    throw new ConfigError(`invalid JWT_ALGORITHM: ${e.JWT_ALGORITHM} does not match the ${fits} key in JWT_PUBLIC_KEY`);
  }
  return { algorithm: fits, key, ...common };
}

/** Cross-variable checks and derived values; throws ConfigError with one line. */
export function securityConfig(e: SecurityEnv, adminToken: string | undefined): SecurityConfig {
  const jwt = e.AUTH_MODE === 'jwt' ? jwtConfig(e) : undefined;
  // In real use the admin endpoints must not be open: no silent default.
  if (jwt && adminToken === undefined) throw new ConfigError('invalid ADMIN_TOKEN: AUTH_MODE=jwt needs an ADMIN_TOKEN for the admin endpoints');
  const defaults = DEFAULT_LIMITS[e.AUTH_MODE];
  return Object.freeze({
    authMode: e.AUTH_MODE,
    jwt,
    rateLimitPerUser: e.RATE_LIMIT_PER_USER ?? defaults.user,
    rateLimitPerIp: e.RATE_LIMIT_PER_IP ?? defaults.ip,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    maxConnections: e.MAX_CONNECTIONS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    overloadEventLoopDelayMs: e.OVERLOAD_EVENT_LOOP_DELAY_MS,
    // By default, shed before V8 spends its time collecting garbage near the heap's limit.
    overloadHeapUsedBytes: e.OVERLOAD_HEAP_USED_MB === undefined
      ? Math.floor(getHeapStatistics().heap_size_limit * 0.9)
      : e.OVERLOAD_HEAP_USED_MB * MB,
  });
}
