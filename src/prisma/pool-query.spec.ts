import { isConnectionError, isDataError, QueryDeadlineError } from './pool-query';

const withCode = (code: unknown, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it('recognises our own statement deadline', () => {
    const err = new QueryDeadlineError(250);
    expect(err.message).toBe('the database did not answer within 250 ms');
    expect(isConnectionError(err)).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])(
    'recognises socket error %s',
    (code) => {
      expect(isConnectionError(withCode(code))).toBe(true);
    },
  );

  it.each([
    ['08006', 'connection failure'],
    ['08001', 'unable to connect'],
    ['08P01', 'protocol violation'],
    ['53300', 'too many connections'],
    ['53200', 'out of memory'],
    ['57P01', 'admin shutdown'],
    ['57P03', 'cannot connect now'],
    ['57014', 'query canceled'],
  ])('recognises SQLSTATE %s (%s)', (code) => {
    expect(isConnectionError(withCode(code))).toBe(true);
  });

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'Connection ended',
    'CONNECTION TERMINATED',
  ])('recognises the driver message "%s" without a code', (message) => {
    expect(isConnectionError(new Error(message))).toBe(true);
  });

  it.each([
    ['22000', 'data exception'],
    ['22P05', 'untranslatable character'],
    ['23505', 'unique violation'],
    ['23503', 'foreign key violation'],
    ['42P01', 'undefined table'],
    ['40001', 'serialization failure'],
    ['25P02', 'in failed transaction'],
    ['P2002', 'a Prisma error code'],
    ['ECONNABORTED_NOT_LISTED', 'an unknown socket code'],
    ['', 'empty code'],
  ])('does not take SQLSTATE/code %s (%s) for a connection error', (code) => {
    expect(isConnectionError(withCode(code, 'statement refused'))).toBe(false);
  });

  it('is false for non-errors and odd shapes', () => {
    for (const v of [
      null,
      undefined,
      0,
      'ECONNREFUSED',
      {},
      { code: 8006 },
      { code: null },
      { message: 42 },
      new Error('syntax error at or near "SELEC"'),
    ]) {
      expect(isConnectionError(v)).toBe(false);
    }
    // a plain object with a socket code counts (errors cross realms and libraries)
    expect(isConnectionError({ code: 'ECONNRESET' })).toBe(true);
    expect(isConnectionError({ message: 'Connection terminated' })).toBe(true);
  });
});

describe('isDataError', () => {
  it.each(['22000', '22001', '22003', '22021', '22P02', '22P05', '23502', '23503', '23505', '23514'])('recognises SQLSTATE %s', (code) => {
    expect(isDataError(withCode(code))).toBe(true);
  });

  it.each(['08006', '53300', '57P01', '42P01', '40001', '21000', '24000', 'ECONNREFUSED', 'P2002', '', '2', '122000'])(
    'does not take %s for a data error',
    (code) => {
      expect(isDataError(withCode(code))).toBe(false);
    },
  );

  it('needs a string code', () => {
    expect(isDataError(null)).toBe(false);
    expect(isDataError(undefined)).toBe(false);
    expect(isDataError(new Error('22000'))).toBe(false);
    expect(isDataError({ code: 22000 })).toBe(false);
    expect(isDataError(new QueryDeadlineError(1))).toBe(false);
  });

  it('never calls an error both a connection and a data error', () => {
    for (const code of ['22000', '23505', '08006', '53300', '57P01', 'ECONNREFUSED']) {
      const e = withCode(code);
      expect(isConnectionError(e) && isDataError(e)).toBe(false);
    }
  });
});
