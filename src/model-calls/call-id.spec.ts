import { newCallId } from './call-id';

describe('newCallId', () => {
  it('makes version 7 UUIDs that carry their creation time', () => {
    const before = Date.now();
    const id = newCallId();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('orders ids made one after the other as they were made, and never repeats', () => {
    const ids = Array.from({ length: 10_000 }, () => newCallId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
