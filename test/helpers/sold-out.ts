import { createReserver, type Reserver } from '../../src/async-issue/reserver.js';
import type { Deps } from '../../src/deps.js';
import { waitUntil } from './drain.js';
import { insertTestCoupon } from './test-env.js';

/**
 * A coupon of 2 sold to users 1 and 2 through a reserver of its own (on `reserverDeps`), answering from
 * its cached winners: the first refusal snapshots them; once two refusals are one shared object, it is in use.
 */
export async function soldOutWithCachedWinners(deps: Deps, reserverDeps: Deps = deps): Promise<{ couponId: number; reserver: Reserver }> {
  const couponId = await insertTestCoupon(deps, { total: 2 });
  const reserver = createReserver(reserverDeps);
  await reserver.reserve(couponId, 1);
  await reserver.reserve(couponId, 2);
  await waitUntil('winners snapshot in use', async () => (await reserver.decide(couponId, 3)) === (await reserver.decide(couponId, 4)));
  return { couponId, reserver };
}
