import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, startHttpProcess } from '../../src/harness/service-processes.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What the production image holds (Dockerfile: `npm ci --omit=dev`, then dist/ and bin/): the
 * built code with node_modules linked package by package, leaving out what the lock file marks dev.
 */
async function productionCopy(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'coupon-prod-'));
  await cp(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  await cp(join(REPO, 'bin'), join(root, 'bin'), { recursive: true });
  await cp(join(REPO, 'package.json'), join(root, 'package.json'));
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, pkg] of Object.entries(lock.packages)) {
    // Top-level packages only: nested ones come along inside their parent.
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || pkg.dev) continue;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(join(REPO, path), join(root, path));
  }
  return root;
}

describe('a production install (no development dependencies)', () => {
  let root: string;
  let t: TestEnv;
  beforeAll(async () => {
    root = await productionCopy();
    t = await createTestEnv();
  });
  afterAll(async () => {
    await t?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it.each(['bench', 'demo'])('coupon %s fails with one line saying what to install', async (command) => {
    const p = spawnCli([command], t.env, { script: join(root, 'bin/coupon.js') });
    expect(await p.exited).toBe(1);
    expect(p.output().trim().split('\n')).toEqual([
      `coupon: ${command} needs the development dependencies (missing autocannon, cli-progress, hdr-histogram-js, undici): run npm ci without --omit=dev`,
    ]);
  });

  it('runs the production commands', async () => {
    const migrate = spawnCli(['migrate'], t.env, { script: join(root, 'bin/coupon.js') });
    expect(await migrate.exited, migrate.output()).toBe(0);
    const start = await startHttpProcess(t.env, { args: ['start'], script: join(root, 'bin/coupon.js') });
    expect(await start.stop(), start.output()).toBe(0);
  });
});
