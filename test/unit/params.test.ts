import { describe, expect, it } from 'vitest';
import { parseId, parseIsoDate } from '../../src/entry-points/api/params.js';
import { InvalidRequestError } from '../../src/errors.js';

describe('parseId', () => {
  it.each(['1', '42', String(Number.MAX_SAFE_INTEGER)])('accepts %s', (s) => expect(parseId(s, 'id')).toBe(Number(s)));
  it.each(['0', '-1', '01', '1.5', '1e3', 'abc', '', ' 1', String(Number.MAX_SAFE_INTEGER + 1), '99999999999999999'])(
    'rejects %j', (s) => expect(() => parseId(s, 'id')).toThrow(InvalidRequestError));
});

describe('parseIsoDate', () => {
  it('accepts an offset or Z', () => {
    expect(parseIsoDate('2026-12-01T10:00:00+09:00', 'd').toISOString()).toBe('2026-12-01T01:00:00.000Z');
    expect(parseIsoDate('2026-12-01T10:00:00.123Z', 'd').toISOString()).toBe('2026-12-01T10:00:00.123Z');
  });
  it.each(['2026-12-01T10:00:00', '2026-12-01', 'tomorrow', '2026-13-01T10:00:00Z', '0001-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z', '9999-12-31T23:00:00-05:00'])('rejects %j', (s) =>
    expect(() => parseIsoDate(s, 'd')).toThrow(InvalidRequestError));
});
