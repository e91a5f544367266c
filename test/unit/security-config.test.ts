import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PEM, SECRET } from './keys.js';

describe('security configuration', () => {
  it('defaults: AUTH_MODE=none with limits off (everything as before), 10 s request timeout, 10,000 connections', () => {
    expect(loadConfig({}).security).toMatchObject({
      authMode: 'none', jwt: undefined, rateLimitPerUser: 0, rateLimitPerIp: 0, trustProxy: false, maxConnections: 10_000, requestTimeoutMs: 10_000,
    });
  });

  it('AUTH_MODE=jwt turns the limits on by default (10 per user, 100 per address); explicit values win, 0 is off', () => {
    expect(loadConfig({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: 'x' }).security).toMatchObject({ rateLimitPerUser: 10, rateLimitPerIp: 100 });
    expect(loadConfig({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: 'x', RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '7' }).security)
      .toMatchObject({ rateLimitPerUser: 0, rateLimitPerIp: 7 });
  });

  it('infers the algorithm from the key: a secret is HS256, an RSA key RS256, a P-256 key ES256; a path to a PEM works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coupon-key-'));
    writeFileSync(join(dir, 'key.pem'), PEM.p256);
    const jwt = (env: Record<string, string>) => loadConfig({ AUTH_MODE: 'jwt', ADMIN_TOKEN: 'x', ...env }).security.jwt?.algorithm;
    expect(jwt({ JWT_SECRET: SECRET })).toBe('HS256');
    expect(jwt({ JWT_PUBLIC_KEY: PEM.rsa })).toBe('RS256');
    expect(jwt({ JWT_PUBLIC_KEY: join(dir, 'key.pem') })).toBe('ES256');
    expect(jwt({ JWT_PUBLIC_KEY: PEM.rsa, JWT_ALGORITHM: 'RS256' })).toBe('RS256');
  });

  it.each([
    ['true', true], ['false', false], ['2', 2], ['loopback', 'loopback'], ['10.0.0.0/8, 192.168.1.1', '10.0.0.0/8, 192.168.1.1'], ['::1', '::1'],
  ])('TRUST_PROXY=%j', (raw, parsed) => {
    expect(loadConfig({ TRUST_PROXY: raw }).security.trustProxy).toEqual(parsed);
  });
});
