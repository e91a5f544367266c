import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { buildApp } from '../../src/entry-points/api/app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
/** MariaDB behind a relay the test cuts; Redis direct. */
let mysqlProxy: TcpProxy;
let deps: Deps;

beforeAll(async () => {
  [t, mysqlProxy] = await Promise.all([createTestEnv(), new TcpProxy('127.0.0.1', 3306).start()]);
  const viaProxy = Object.assign(new URL(t.env.MYSQL_URL!), { port: String(mysqlProxy.port) });
  deps = createDeps(loadConfig({ ...t.env, MYSQL_URL: viaProxy.toString() }), 'waiting-room-outage-test');
});
afterAll(async () => {
  await deps?.close();
  await mysqlProxy?.cut();
  await t?.destroy();
});

describe('waiting room with MySQL out of reach', () => {
  it('a process that never read the coupon still knows which coupons need a ticket (the setting saved in Redis)', async () => {
    const first = await buildApp(deps);
    const create = async (waitingRoom: object | null) => (await first.inject({ method: 'POST', url: '/v1/coupons', payload: {
      title: 'outage', totalQuantity: 10, discountAmount: 1, minAvailableAmount: 0, waitingRoom,
      dateIssueStart: new Date(Date.now() - 60_000).toISOString(), dateIssueEnd: new Date(Date.now() + 3_600_000).toISOString(),
    } })).json().id as number;
    const plain = await create(null);
    const queued = await create({});
    // Bound to the async path while MySQL answers (the binding is MySQL's), then MySQL goes away.
    expect((await first.inject({ method: 'POST', url: '/v1/issue-async', payload: { couponId: plain, userId: 1 } })).statusCode).toBe(202);
    const ticket = (await first.inject({ method: 'POST', url: `/v1/coupons/${queued}/queue`, payload: { userId: 1 } })).json().ticket as string;
    expect((await first.inject({ method: 'POST', url: '/v1/issue-async', payload: { couponId: queued, userId: 1, ticket } })).statusCode).toBe(202);
    await first.close();

    await mysqlProxy.cut();
    const fresh = await buildApp(deps);
    try {
      const issue = (couponId: number, userId: number) => fresh.inject({ method: 'POST', url: '/v1/issue-async', payload: { couponId, userId } });
      expect((await issue(plain, 2)).statusCode).toBe(202);
      const refused = await issue(queued, 2);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().code).toBe('NOT_ADMITTED');
    } finally {
      await fresh.close();
      await mysqlProxy.restore();
    }
    expect(await t.deps.redis.hlen(t.deps.keys.users(queued))).toBe(1);
  });
});
