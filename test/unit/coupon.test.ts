import { describe, expect, it } from 'vitest';
import { issue, isQuantityAvailable, isWithinIssueWindow, type Coupon } from '../../src/domain/coupon.js';
import { CouponSoldOutError, ErrorCode, IssueWindowClosedError } from '../../src/errors.js';

const start = new Date('2026-12-01T10:00:00Z');
const end = new Date('2026-12-01T11:00:00Z');
const coupon = (over: Partial<Coupon> = {}): Coupon => ({
  id: 7, title: 't', couponType: 'FIRST_COME_FIRST_SERVED', issueMode: null, totalQuantity: 10, issuedQuantity: 0,
  discountAmount: 1000, minAvailableAmount: 0, dateIssueStart: start, dateIssueEnd: end,
  waitingRoom: null, createdAt: start, updatedAt: start, ...over,
});
const at = (ms: number) => new Date(start.getTime() + ms);

describe('quantity', () => {
  it('is available below the total and not at it', () => {
    expect(isQuantityAvailable(coupon({ issuedQuantity: 9 }))).toBe(true);
    expect(isQuantityAvailable(coupon({ issuedQuantity: 10 }))).toBe(false);
    expect(isQuantityAvailable(coupon({ issuedQuantity: 11 }))).toBe(false);
  });
  it('is always available when unlimited', () => {
    expect(isQuantityAvailable(coupon({ totalQuantity: null, issuedQuantity: 1_000_000 }))).toBe(true);
  });
});

describe('issue window', () => {
  it('opens at start inclusive', () => {
    expect(isWithinIssueWindow(coupon(), at(-1))).toBe(false);
    expect(isWithinIssueWindow(coupon(), at(0))).toBe(true);
  });
  it('closes at end exclusive', () => {
    expect(isWithinIssueWindow(coupon(), new Date(end.getTime() - 1))).toBe(true);
    expect(isWithinIssueWindow(coupon(), end)).toBe(false);
  });
});

describe('issue()', () => {
  it('takes one unit and stamps the update', () => {
    const next = issue(coupon({ issuedQuantity: 3 }), at(5));
    expect(next.issuedQuantity).toBe(4);
    expect(next.updatedAt).toEqual(at(5));
  });
  it('takes the last unit, then refuses with INVALID_COUPON_ISSUE_QUANTITY', () => {
    const last = issue(coupon({ issuedQuantity: 9 }), at(5));
    expect(last.issuedQuantity).toBe(10);
    expect(() => issue(last, at(6))).toThrow(CouponSoldOutError);
    try { issue(last, at(6)); } catch (e) { expect((e as CouponSoldOutError).code).toBe(ErrorCode.INVALID_COUPON_ISSUE_QUANTITY); }
  });
  it('refuses outside the window with INVALID_COUPON_ISSUE_DATE, before looking at stock', () => {
    expect(() => issue(coupon({ issuedQuantity: 10 }), end)).toThrow(IssueWindowClosedError);
    expect(() => issue(coupon(), at(-1))).toThrow(IssueWindowClosedError);
  });
  it('never runs out when unlimited', () => {
    expect(issue(coupon({ totalQuantity: null, issuedQuantity: 99 }), at(1)).issuedQuantity).toBe(100);
  });
});
