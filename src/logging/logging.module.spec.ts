import { requestLineLevel, requestLogLevel, serializeRequest } from './logging.module';

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

describe('requestLineLevel', () => {
  it('with errors, drops only the line of a gateway call answered below 400', () => {
    expect(requestLineLevel('errors', '/v1/chat/completions', 200)).toBe('silent');
    expect(requestLineLevel('errors', '/v1/embeddings?x=1', 200)).toBe('silent');
    expect(requestLineLevel('errors', '/v1/chat/completions', 402)).toBe('warn');
    expect(requestLineLevel('errors', '/v1/chat/completions', 500)).toBe('error');
    expect(requestLineLevel('errors', '/v1/chat/completions', 200, new Error('thrown'))).toBe('error');
    expect(requestLineLevel('errors', '/v1/models', 200)).toBe('info');
    expect(requestLineLevel('errors', '/v1/chat/completionsX', 200)).toBe('info');
    expect(requestLineLevel('errors', '/admin/users', 200)).toBe('info');
    expect(requestLineLevel('errors', undefined, 200)).toBe('info');
  });

  it('with all, logs every request at its level', () => {
    expect(requestLineLevel('all', '/v1/chat/completions', 200)).toBe('info');
    expect(requestLineLevel('all', '/v1/chat/completions', 429)).toBe('warn');
  });
});

describe('serializeRequest', () => {
  it('keeps the id, method, URL and the headers it logs that were sent; nothing else', () => {
    const line = serializeRequest({
      id: 'r-1',
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'user-agent': 'sdk/1', authorization: 'Bearer tg-secret', cookie: 'session=secret', 'x-api-key': 'tg-other' },
    });
    expect(line).toEqual({
      id: 'r-1',
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'user-agent': 'sdk/1', authorization: 'Bearer tg-secret' },
    });
    expect(serializeRequest({ id: 'r-2', method: 'GET', url: '/healthz', headers: {} }).headers).toEqual({});
  });
});
