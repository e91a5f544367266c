import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyChange, closedChange, raisesTotal, type Coupon } from '../../src/domain/coupon.js';
import { InvalidRequestError } from '../../src/errors.js';

const at = (iso: string) => new Date(iso);
const coupon: Coupon = {
  id: 1, title: 't', couponType: 'FIRST_COME_FIRST_SERVED', issueMode: null, totalQuantity: 10, issuedQuantity: 3,
  discountAmount: 1, minAvailableAmount: 0, dateIssueStart: at('2026-01-01T00:00:00Z'), dateIssueEnd: at('2026-01-02T00:00:00Z'),
  waitingRoom: null, createdAt: at('2025-12-01T00:00:00Z'), updatedAt: at('2025-12-01T00:00:00Z'),
};

describe('admin changes (pure rules)', () => {
  it('applyChange keeps what is absent and checks the merged window', () => {
    expect(applyChange(coupon, { title: 'u' })).toEqual({ ...coupon, title: 'u' });
    expect(() => applyChange(coupon, { dateIssueEnd: at('2025-12-31T00:00:00Z') })).toThrow(InvalidRequestError);
    expect(() => applyChange(coupon, { dateIssueStart: coupon.dateIssueEnd })).toThrow(InvalidRequestError);
  });

  it('raisesTotal: higher or unlimited lets more out; lower, equal or from unlimited does not', () => {
    expect([raisesTotal(10, 11), raisesTotal(10, null), raisesTotal(10, 10), raisesTotal(10, 9), raisesTotal(null, 5), raisesTotal(null, null)])
      .toEqual([true, true, false, false, false, false]);
  });

  it('closedChange ends an open window now, never moves a past end later, and ends a future window too', () => {
    const now = at('2026-01-01T12:00:00Z');
    expect(closedChange(coupon, now)).toEqual({ dateIssueStart: coupon.dateIssueStart, dateIssueEnd: now });
    expect(closedChange(coupon, at('2026-02-01T00:00:00Z'))).toEqual({ dateIssueStart: coupon.dateIssueStart, dateIssueEnd: coupon.dateIssueEnd });
    const early = at('2025-12-31T00:00:00Z');
    expect(closedChange(coupon, early)).toEqual({ dateIssueStart: new Date(early.getTime() - 1), dateIssueEnd: early });
  });
});

describe('metrics configuration', () => {
  it('is on by default, off with METRICS_ENABLED=0, and validates its numbers', () => {
    expect(loadConfig({})).toMatchObject({ metricsEnabled: true, metricsPort: 9464, consistencyCheckIntervalMs: 5000, consistencyAlertAfterMs: 30_000 });
    expect(loadConfig({ METRICS_ENABLED: '0' }).metricsEnabled).toBe(false);
    expect(() => loadConfig({ METRICS_ENABLED: 'yes' })).toThrow(/METRICS_ENABLED/);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });
});
