import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StrategyName } from '../../src/config.js';
import { countIssues } from '../../src/domain/coupon.repository.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { startHttpProcess, type ServiceProcess } from '../../src/harness/service-processes.js';
import { createTestEnv, insertTestCoupon, type TestEnv } from '../helpers/test-env.js';

const TOTAL = 100;

let t: TestEnv;
beforeAll(async () => { t = await createTestEnv(); });
afterAll(async () => { await t?.destroy(); });

/** Two `coupon api` processes on two ports, same database and Redis, hit at once. */
async function floodTwoProcesses(strategy: StrategyName) {
  const procs: ServiceProcess[] = [];
  try {
    const apis = await Promise.all([0, 1].map(() => startHttpProcess({ ...t.env, ISSUE_STRATEGY: strategy })));
    procs.push(...apis);
    const couponId = await insertTestCoupon(t.deps, { total: TOTAL });
    const load = await fireIssues(apis.map((a) => a.url), '/v1/issue', floodBodies(couponId, 1000, 200));
    return { outcomes: load.outcomes, counts: await countIssues(t.deps.db, couponId) };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

describe('two API processes', () => {
  it.each(['redis-lock', 'mysql-lock', 'mysql-atomic'] as const)('%s stays exact across processes', async (strategy) => {
    const { outcomes, counts } = await floodTwoProcesses(strategy);
    expect(counts).toEqual({ rows: TOTAL, distinctUsers: TOTAL, issuedQuantity: TOTAL, totalQuantity: TOTAL });
    expect(outcomes['200']).toBe(TOTAL);
  });

  it('process-lock over-issues: each process only locks itself', async () => {
    const runs: { rows: number; issuedQuantity: number | null }[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const { counts } = await floodTwoProcesses('process-lock');
      runs.push({ rows: counts.rows, issuedQuantity: counts.issuedQuantity });
      expect(counts.distinctUsers).toBe(counts.rows); // the unique key still holds
      if (counts.rows > TOTAL) break;
    }
    console.log(`process-lock, two processes: ${JSON.stringify(runs)}`);
    expect(runs.some((r) => r.rows > TOTAL)).toBe(true);
  });
});
