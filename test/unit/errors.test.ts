import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isDataError, isRetryableTransactionError } from '../../src/adapters/mysql/mysql-errors.js';
import { LockTimeoutError } from '../../src/adapters/redis/redis-errors.js';
import { isStorageUnavailable } from '../../src/adapters/unavailable.js';
import { CouponSoldOutError } from '../../src/errors.js';

const mysqlError = (code: string, sqlState: string, errno = 0) =>
  Object.assign(new Error(code), { code, sqlState, errno });

describe('isStorageUnavailable', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' })],
    ['a fatal mysql2 error', Object.assign(new Error('boom'), { fatal: true })],
    ['a deadlock that outlived its retries', mysqlError('ER_LOCK_DEADLOCK', '40001')],
    ['MySQL read-only after a failover', mysqlError('ER_OPTION_PREVENTS_STATEMENT', 'HY000')],
    ['Redis loading its data', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['a busy Redis script', new ReplyError('BUSY Redis is busy running a script.')],
    ['a read-only replica', new ReplyError("READONLY You can't write against a read only replica.")],
    ['ioredis giving up', new Error('Reached the max retries per request limit (which is 1).')],
    ['a lock that stayed taken', new LockTimeoutError('k', 10)],
    ['a cluster slot without a reachable master', new Error('Too many Cluster redirections. Last error: ReplyError: MOVED 866 127.0.0.1:7002')],
    ['a cluster client that cannot load its slot map', new Error('Failed to refresh slots cache.')],
    ['a cluster master taken out of the pool', new Error('Node is disconnected')],
    ['a cluster failing over', new ReplyError('CLUSTERDOWN The cluster is down')],
  ])('is true for %s', (_, err) => expect(isStorageUnavailable(err)).toBe(true));

  it.each([
    ['a business error', new CouponSoldOutError(1)],
    ['a script error', new ReplyError('ERR Error running script')],
    ['a programming error', new TypeError('x is undefined')],
    ['a CHECK violation', mysqlError('ER_CHECK_CONSTRAINT_VIOLATED', 'HY000', 3819)],
  ])('is false for %s', (_, err) => expect(isStorageUnavailable(err)).toBe(false));
});

describe('isDataError (what the consumer may dead-letter)', () => {
  it('is true for MySQL refusing the values, on MySQL and MariaDB numbering alike', () => {
    // What each server really sends for a failed CHECK: MySQL 8 errno 3819 with SQLSTATE HY000;
    // MariaDB errno 4025 with 23000, which mysql2 names after MySQL's unrelated 4025.
    expect(isDataError(mysqlError('ER_CHECK_CONSTRAINT_VIOLATED', 'HY000', 3819))).toBe(true);
    expect(isDataError(mysqlError('ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE', '23000', 4025))).toBe(true);
    expect(isDataError(mysqlError('ER_WARN_DATA_OUT_OF_RANGE', '22003'))).toBe(true);
  });
  it('is false for faults of the environment', () => {
    expect(isDataError(mysqlError('ER_NO_SUCH_TABLE', '42S02'))).toBe(false);
    expect(isDataError(mysqlError('ER_TABLEACCESS_DENIED_ERROR', '42000'))).toBe(false);
    expect(isDataError(mysqlError('ER_OPTION_PREVENTS_STATEMENT', 'HY000'))).toBe(false);
    expect(isDataError(new Error('connect ECONNREFUSED'))).toBe(false);
  });
});

describe('isRetryableTransactionError', () => {
  it('retries deadlocks and lock-wait timeouts only', () => {
    expect(isRetryableTransactionError(mysqlError('ER_LOCK_DEADLOCK', '40001'))).toBe(true);
    expect(isRetryableTransactionError(mysqlError('ER_LOCK_WAIT_TIMEOUT', 'HY000'))).toBe(true);
    expect(isRetryableTransactionError(mysqlError('ER_DUP_ENTRY', '23000'))).toBe(false);
  });
});
