import { beforeAfter } from './audit-changes';
import { decodeCursor, encodeCursor } from './audit-cursor';
import { buildWhere, parseInstant } from './audit-logs.repository';

describe('audit log reading helpers', () => {
  it('a cursor round-trips and anything else is 400 invalid_cursor', () => {
    const c = { ts: '2026-12-02 10:11:12.123456+00', id: '0b6c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of [
      '',
      'x',
      Buffer.from('["x","y"]').toString('base64url'),
      Buffer.from(JSON.stringify([c.ts, "1' OR 1=1"])).toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_cursor' }));
    }
  });

  it('time bounds: Unix seconds or ISO-8601; anything else is 400 validation_failed', () => {
    expect(parseInstant('from', '1700000000').toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(parseInstant('from', '2026-01-02T03:04:05Z').toISOString()).toBe('2026-01-02T03:04:05.000Z');
    for (const bad of ['yesterday', '', '2026-13-45', '1e9', '-5']) {
      expect(() => parseInstant('from', bad)).toThrow(expect.objectContaining({ status: 400, code: 'validation_failed' }));
    }
    expect(() => buildWhere({ from: '2026-01-02', to: '2026-01-01' })).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });

  it('filters become parameters, never SQL text; a prefix action escapes LIKE wildcards', () => {
    const w = buildWhere({ action: 'users_%.*', actor: "o'brien", status: 403 });
    expect(w.sql).toBe(' WHERE actor_label ILIKE $1 AND action LIKE $2 AND status = $3');
    expect(w.params).toEqual(["%o'brien%", 'users\\_\\%.%', 403]);
    expect(buildWhere({}).sql).toBe('');
  });

  it('beforeAfter keeps only the fields that changed', () => {
    expect(beforeAfter({ a: 1, b: 'x', c: null }, { a: 1, b: 'y', c: 2 })).toEqual({
      before: { b: 'x', c: null },
      after: { b: 'y', c: 2 },
    });
  });
});
