import { requestLogLevel } from './logging.module';

describe('requestLogLevel', () => {
  it('keeps error for our own faults and warns for refusals and failed dependencies', () => {
    expect(requestLogLevel(200)).toBe('info');
    expect(requestLogLevel(400)).toBe('warn');
    expect(requestLogLevel(429)).toBe('warn');
    expect(requestLogLevel(500)).toBe('error');
    expect(requestLogLevel(502)).toBe('warn');
    expect(requestLogLevel(503)).toBe('warn');
    expect(requestLogLevel(504)).toBe('warn');
    expect(requestLogLevel(200, new Error('thrown'))).toBe('error');
  });
});
