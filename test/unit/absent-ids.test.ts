import { describe, expect, it } from 'vitest';
import { AbsentIds } from '../../src/domain/absent-ids.js';

describe('AbsentIds', () => {
  it('knows every id of a recorded run, and none outside it', () => {
    const ids = new AbsentIds(1000, 10, () => 0);
    ids.add(10, 20);
    ids.add(100, 100);
    ids.add(30, 40);
    expect([9, 10, 15, 20, 21, 29, 30, 40, 41, 99, 100, 101].filter((id) => ids.has(id))).toEqual([10, 15, 20, 30, 40, 100]);
  });

  it('forgets a run after its time, and keeps at most maxRanges', () => {
    let now = 0;
    const ids = new AbsentIds(1000, 2, () => now);
    ids.add(1, 5);
    now = 999;
    expect(ids.has(3)).toBe(true);
    now = 1000;
    expect(ids.has(3)).toBe(false);
    ids.add(10, 10);
    ids.add(20, 20);
    ids.add(30, 30);
    expect([10, 20, 30].filter((id) => ids.has(id))).toHaveLength(2);
    expect(ids.has(30)).toBe(true);
  });
});
