import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { createTestEnv, type TestEnv } from './test-env.js';

export interface TestApp {
  readonly t: TestEnv;
  readonly app: FastifyInstance;
  /** Where the app listens (on a free port of 127.0.0.1). */
  readonly url: string;
  /** Every log line the app wrote, parsed (info and above). */
  readonly logLines: Record<string, unknown>[];
}

/** A pino destination that parses every line it gets into `lines`. */
export function jsonLines(lines: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}

/**
 * Registers the file's hooks: its own database and key prefix, and an app on them listening on a
 * free port, configured with `env` on top of the test's, logging at info into `logLines`.
 */
export function useTestApp(env: Record<string, string> = {}): TestApp {
  const ctx = { logLines: [] as Record<string, unknown>[] } as { -readonly [K in keyof TestApp]: TestApp[K] };
  beforeAll(async () => {
    ctx.t = await createTestEnv();
    const sink = jsonLines(ctx.logLines);
    const config = loadConfig({ ...ctx.t.env, LOG_LEVEL: 'info', ...env });
    ctx.app = await buildApp({ ...ctx.t.deps, config, log: pino({ level: 'info' }, sink) });
    ctx.url = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await ctx.app?.close();
    await ctx.t?.destroy();
  });
  return ctx;
}
