import { describe, expect, it } from 'vitest';
import { RulesCache } from '../../src/async-issue/rules-cache.js';
import type { IssueRules } from '../../src/domain/coupon.js';

const rules = (id: number): IssueRules => ({ id, issueMode: null, totalQuantity: 10, dateIssueStart: new Date(0), dateIssueEnd: new Date(1e13) });

describe('RulesCache', () => {
  it('serves a live entry without loading, and reloads once it expired, handing over the old entry', async () => {
    let now = 0;
    const cache = new RulesCache(1000, 10, () => now);
    let loads = 0;
    const load = async () => { loads++; return { rules: rules(1) }; };
    await cache.get(1, load);
    expect(cache.peek(1)?.rules?.id).toBe(1);
    await cache.get(1, load);
    expect(loads).toBe(1);
    now = 1000;
    expect(cache.peek(1)).toBeUndefined();
    let handedOver: unknown;
    await cache.get(1, async (previous) => { handedOver = previous; loads++; return { rules: rules(1) }; });
    expect(loads).toBe(2);
    expect(handedOver).toMatchObject({ rules: { id: 1 } });
  });

  it('loads once for many concurrent callers', async () => {
    const cache = new RulesCache(1000, 10);
    let loads = 0;
    const load = async () => { loads++; await new Promise((r) => setTimeout(r, 10)); return { rules: rules(2) }; };
    await Promise.all(Array.from({ length: 50 }, () => cache.get(2, load)));
    expect(loads).toBe(1);
  });

  it('never keeps an unknown coupon: it may be created the next moment', async () => {
    const cache = new RulesCache(1000, 10);
    expect((await cache.get(3, async () => ({ rules: null }))).rules).toBeNull();
    expect(cache.size).toBe(0);
    expect((await cache.get(3, async () => ({ rules: rules(3) }))).rules?.id).toBe(3);
  });

  it('keeps at most maxEntries coupons, dropping the oldest written', async () => {
    const cache = new RulesCache(60_000, 3);
    for (const id of [1, 2, 3, 4]) await cache.get(id, async () => ({ rules: rules(id) }));
    expect(cache.size).toBe(3);
    expect(cache.peek(1)).toBeUndefined();
    expect(cache.peek(4)?.rules?.id).toBe(4);
  });
});
