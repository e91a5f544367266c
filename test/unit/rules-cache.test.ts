import { describe, expect, it } from 'vitest';
import { RulesCache, type SoldOut } from '../../src/async-issue/rules-cache.js';
import { CouponSoldOutError } from '../../src/errors.js';
import type { IssueRules } from '../../src/domain/coupon.js';

const rules = (id: number): IssueRules => ({ id, issueMode: null, totalQuantity: 10, dateIssueStart: new Date(0), dateIssueEnd: new Date(1e13) });

describe('RulesCache', () => {
  it('serves a live entry without loading, and reloads once it expired, handing over the old entry', async () => {
    let now = 0;
    const cache = new RulesCache(1000, 10, 0, () => now);
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
    const cache = new RulesCache(1000, 10, 0);
    let loads = 0;
    const load = async () => { loads++; await new Promise((r) => setTimeout(r, 10)); return { rules: rules(2) }; };
    await Promise.all(Array.from({ length: 50 }, () => cache.get(2, load)));
    expect(loads).toBe(1);
  });

  it('never keeps an unknown coupon: it may be created the next moment', async () => {
    const cache = new RulesCache(1000, 10, 0);
    expect((await cache.get(3, async () => ({ rules: null }))).rules).toBeNull();
    expect(cache.size).toBe(0);
    expect((await cache.get(3, async () => ({ rules: rules(3) }))).rules?.id).toBe(3);
  });

  it('keeps at most maxEntries coupons, dropping the oldest written', async () => {
    const cache = new RulesCache(60_000, 3, 0);
    for (const id of [1, 2, 3, 4]) await cache.get(id, async () => ({ rules: rules(id) }));
    expect(cache.size).toBe(3);
    expect(cache.peek(1)).toBeUndefined();
    expect(cache.peek(4)?.rules?.id).toBe(4);
  });

  describe('sold-out winners, bounded over all coupons', () => {
    const soldOut = (id: number, winners: number): SoldOut => ({
      epoch: 'e', winners: new Set(Array.from({ length: winners }, (_, i) => i + 1)), refusal: new CouponSoldOutError(id),
    });

    it('evicts the least recently used coupon\'s winners past the budget, keeping its rules', async () => {
      let now = 0;
      const cache = new RulesCache(1000, 100, 250, () => now);
      for (const id of [1, 2]) cache.set(id, { rules: rules(id), soldOut: soldOut(id, 100) });
      now = 500;
      // Coupon 1 reloaded (its winners carried over): now the more recently used one.
      cache.set(1, { rules: rules(1), soldOut: cache.peek(1)!.soldOut! });
      cache.set(3, { rules: rules(3), soldOut: soldOut(3, 100) });
      expect(cache.winnersHeld).toBe(200);
      expect(cache.peek(2)?.soldOut).toBeUndefined();
      expect(cache.peek(2)?.rules?.id).toBe(2);
      expect([1, 3].map((id) => cache.peek(id)?.soldOut?.winners.size)).toEqual([100, 100]);
      // Not read again until the cooldown passed.
      expect(cache.mayHoldWinners(2)).toBe(false);
      expect(cache.mayHoldWinners(4)).toBe(true);
      now = 500 + 10_001;
      expect(cache.mayHoldWinners(2)).toBe(true);
    });

    it('keeps out a coupon whose winners alone exceed the budget, and holds none with a budget of 0', () => {
      const cache = new RulesCache(1000, 100, 50);
      expect(cache.set(1, { rules: rules(1), soldOut: soldOut(1, 51) }).soldOut).toBeUndefined();
      expect(cache.winnersHeld).toBe(0);
      const off = new RulesCache(1000, 100, 0);
      expect(off.mayHoldWinners(1)).toBe(false);
      expect(off.set(1, { rules: rules(1), soldOut: soldOut(1, 1) }).soldOut).toBeUndefined();
    });

    it('frees a coupon\'s winners when its entry goes: forgotten, replaced without them, or pushed out by maxEntries', () => {
      const cache = new RulesCache(1000, 2, 1000);
      cache.set(1, { rules: rules(1), soldOut: soldOut(1, 10) });
      cache.set(2, { rules: rules(2), soldOut: soldOut(2, 20) });
      cache.set(3, { rules: rules(3), soldOut: soldOut(3, 30) });
      expect(cache.winnersHeld).toBe(50);
      cache.set(2, { rules: rules(2) });
      expect(cache.winnersHeld).toBe(30);
      cache.forget(3);
      expect(cache.winnersHeld).toBe(0);
    });
  });
});
