import { describe, expect, it } from 'vitest';
import { spawnCli } from '../../src/harness/service-processes.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/coupon';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('coupon bench --scenario waiting-room on a tiny workload', () => {
  it('reports joins/s, opening to last claim and the sold-out share, with exactly the quantity claimed', async () => {
    const proc = spawnCli(['bench', '--scenario', 'waiting-room', '--quantity', '20', '--users', '200', '--no-progress'],
      { MYSQL_URL, REDIS_URL, REDIS_KEY_PREFIX: `test:bench-wr-${process.pid}:`, LOG_LEVEL: 'warn' });
    const code = await proc.exited;
    const line = proc.output().split('\n').find((l) => l.startsWith('waiting-room: '));
    expect(code, proc.output()).toBe(0);
    const figures = JSON.parse(line!.slice('waiting-room: '.length)) as Record<string, number>;
    expect(figures).toMatchObject({ joiners: 200, quantity: 20, claimed: 20, reserved: 20 });
    expect(figures.joinsPerSec).toBeGreaterThan(0);
    expect(figures.openingToLastClaimMs).toBeGreaterThanOrEqual(0);
    expect(figures.soldOutWithin1sShare).toBeGreaterThanOrEqual(0);
    expect(figures.soldOutWithin1sShare).toBeLessThanOrEqual(1);
  });
});
