import { ConcurrencyLimiter } from './concurrency-limiter';

type Slot = ReturnType<ConcurrencyLimiter['acquire']>;

function release(slot: Slot): () => void {
  if (!('release' in slot)) throw new Error(`expected a slot, got the ${slot.limit} limit`);
  return slot.release;
}

describe('ConcurrencyLimiter', () => {
  it('admits up to the per-key limit, then refuses with the key limit', () => {
    const l = new ConcurrencyLimiter(2, 0);
    release(l.acquire('k1', 'u1'));
    release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u1')).toEqual({ limit: 'key', max: 2 });
    // another key of the same user is counted on its own
    release(l.acquire('k2', 'u1'));
    expect(l.inFlight('u1')).toBe(3);
  });

  it('counts every key of a user against the per-user limit', () => {
    const l = new ConcurrencyLimiter(0, 3);
    release(l.acquire('k1', 'u1'));
    release(l.acquire('k2', 'u1'));
    release(l.acquire('k3', 'u1'));
    expect(l.acquire('k4', 'u1')).toEqual({ limit: 'user', max: 3 });
    // other users are not affected
    release(l.acquire('k5', 'u2'));
    expect(l.inFlight('u1')).toBe(3);
    expect(l.inFlight('u2')).toBe(1);
  });

  it('reports the key limit first when both are reached, and a refusal takes no slot', () => {
    const l = new ConcurrencyLimiter(1, 1);
    const r = release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u1')).toEqual({ limit: 'key', max: 1 });
    expect(l.acquire('k2', 'u1')).toEqual({ limit: 'user', max: 1 });
    expect(l.inFlight('u1')).toBe(1);
    r();
    expect(l.inFlight('u1')).toBe(0);
    release(l.acquire('k2', 'u1'));
  });

  it('a refusal by the user limit does not count against the key', () => {
    const l = new ConcurrencyLimiter(2, 1);
    const r = release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u1')).toEqual({ limit: 'user', max: 1 });
    r();
    // had the refused call taken a key slot, k1 would now be at its limit of 2
    release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u2')).not.toHaveProperty('limit');
  });

  it('frees the slot on release, once: a second release changes nothing', () => {
    const l = new ConcurrencyLimiter(2, 2);
    const a = release(l.acquire('k1', 'u1'));
    const b = release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u1')).toEqual({ limit: 'key', max: 2 });
    a();
    a();
    a();
    expect(l.inFlight('u1')).toBe(1); // b still counts
    const c = release(l.acquire('k1', 'u1'));
    expect(l.acquire('k1', 'u1')).toEqual({ limit: 'key', max: 2 });
    b();
    c();
    c();
    expect(l.inFlight('u1')).toBe(0);
    expect(l.inFlight('nobody')).toBe(0);
  });

  it('0 means unlimited', () => {
    const l = new ConcurrencyLimiter(0, 0);
    const releases = Array.from({ length: 1000 }, () => release(l.acquire('k', 'u')));
    expect(l.inFlight('u')).toBe(1000);
    releases.forEach((r) => r());
    expect(l.inFlight('u')).toBe(0);
  });

  it('a limit of 1 serialises calls of one key', () => {
    const l = new ConcurrencyLimiter(1, 0);
    for (let i = 0; i < 5; i++) {
      const r = release(l.acquire('k', 'u'));
      expect(l.acquire('k', 'u')).toEqual({ limit: 'key', max: 1 });
      r();
    }
    expect(l.inFlight('u')).toBe(0);
  });
});
