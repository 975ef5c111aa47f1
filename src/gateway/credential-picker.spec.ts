import { RouteCredential, RouteProvider } from '../providers/catalog.service';
import { CredentialPicker } from './credential-picker.service';

function cred(id: string, weight = 1): RouteCredential {
  return { id, name: `credential ${id}`, secret: `sk-${id}`, weight };
}

function provider(...credentials: RouteCredential[]): RouteProvider {
  return { id: 'p1', name: 'p', displayName: 'P', baseUrl: 'http://127.0.0.1:1/v1', credentials };
}

const ids = (list: RouteCredential[]) => list.map((c) => c.id);

/** Makes Math.random return these values in turn (then fail loudly). */
function randomSequence(...values: number[]): jest.SpyInstance {
  const queue = [...values];
  return jest.spyOn(Math, 'random').mockImplementation(() => {
    const v = queue.shift();
    if (v === undefined) throw new Error('Math.random called more often than expected');
    return v;
  });
}

/** Fails `id` until it sits out (three failures in a row). */
function failUntilCooling(p: CredentialPicker, id: string): void {
  for (let i = 0; i < 3; i++) p.failed(id);
}

describe('CredentialPicker', () => {
  let picker: CredentialPicker;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    picker = new CredentialPicker();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('returns nothing without a credential of positive weight', () => {
    expect(picker.pick(provider())).toEqual([]);
    expect(picker.pick(provider(cred('a', 0), cred('b', 0)))).toEqual([]);
  });

  it('returns a lone credential alone (no retry on the same credential), without drawing a random number', () => {
    const spy = jest.spyOn(Math, 'random');
    expect(ids(picker.pick(provider(cred('a'))))).toEqual(['a']);
    expect(ids(picker.pick(provider(cred('a'), cred('zero', 0))))).toEqual(['a']);
    expect(spy).not.toHaveBeenCalled();
  });

  it('draws the first credential by weight: each gets the slice of [0, total) its weight covers', () => {
    const p = provider(cred('a', 1), cred('b', 3)); // a: [0, 1), b: [1, 4)
    randomSequence(0);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    randomSequence(0.2499);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    randomSequence(0.25);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    randomSequence(0.9999);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
  });

  it('never picks a weight-0 credential, not even for the retry', () => {
    const p = provider(cred('off', 0), cred('a', 1), cred('b', 1));
    randomSequence(0.1);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    randomSequence(0.9);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
  });

  it('draws the retry credential by weight among the others', () => {
    const p = provider(cred('a', 2), cred('b', 1), cred('c', 1)); // total 4
    // first: 0.6 × 4 = 2.4 → b; retry among a (2), c (1): 0.5 × 3 = 1.5 → a, 0.7 × 3 = 2.1 → c
    randomSequence(0.6, 0.5);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    randomSequence(0.6, 0.7);
    expect(ids(picker.pick(p))).toEqual(['b', 'c']);
    // first a (0.1 × 4 = 0.4); retry among b, c: 0.49 × 2 → b
    randomSequence(0.1, 0.49);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
  });

  it('spreads calls in proportion to the weights (real Math.random)', () => {
    const p = provider(cred('a', 1), cred('b', 3));
    const n = 20_000;
    let a = 0;
    for (let i = 0; i < n; i++) if (picker.pick(p)[0].id === 'a') a++;
    // expected 0.25; the standard deviation over 20,000 draws is ~0.003
    expect(a / n).toBeGreaterThan(0.23);
    expect(a / n).toBeLessThan(0.27);
  });

  it('lets a credential sit out after three failures in a row, for 30 s', () => {
    const p = provider(cred('a', 1000), cred('b', 1));
    picker.failed('a');
    picker.failed('a');
    // two failures: still in the draw (0 → a)
    randomSequence(0);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    picker.failed('a');
    // three: a sits out although the draw would favour it; it is still the retry
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    jest.advanceTimersByTime(29_999);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    jest.advanceTimersByTime(1);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
  });

  it('uses the explicit clock when given one', () => {
    const p = provider(cred('a'), cred('b'));
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) picker.failed('a', t0);
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(ids(picker.pick(p, t0 + 29_999))).toEqual(['b', 'a']);
    expect(ids(picker.pick(p, t0 + 30_000))).toEqual(['a', 'b']);
  });

  it('a success resets the count: failures must be consecutive', () => {
    const p = provider(cred('a'), cred('b'));
    picker.failed('a');
    picker.failed('a');
    picker.succeeded('a');
    picker.failed('a');
    picker.failed('a');
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    picker.failed('a');
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    // a success during the cool-down brings it back at once
    picker.succeeded('a');
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
  });

  it('each failure past the third extends the cool-down from that failure', () => {
    const p = provider(cred('a'), cred('b'));
    failUntilCooling(picker, 'a');
    jest.advanceTimersByTime(20_000);
    picker.failed('a'); // the retry on a failed again: 30 s from now
    jest.spyOn(Math, 'random').mockReturnValue(0);
    jest.advanceTimersByTime(20_000); // 40 s after the third failure
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    jest.advanceTimersByTime(10_000);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
  });

  it('keeps cooling credentials out of the retry while a healthy one is left', () => {
    const p = provider(cred('a'), cred('b'), cred('c'));
    failUntilCooling(picker, 'c');
    // first a; retry among b and c: c sits out, so b whatever the draw
    randomSequence(0, 0.99);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    // cooling credentials are never first either
    randomSequence(0.99, 0);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
  });

  it('falls back to cooling credentials when no healthy one is left', () => {
    const p = provider(cred('a', 1), cred('b', 3));
    failUntilCooling(picker, 'a');
    failUntilCooling(picker, 'b');
    // everything cools: drawn by weight among all
    randomSequence(0.1);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    randomSequence(0.5);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    // one recovers: it goes first, the other is the retry
    picker.succeeded('b');
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
  });

  it('keeps health per credential id', () => {
    const p = provider(cred('a'), cred('b'));
    failUntilCooling(picker, 'x-unknown');
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(ids(picker.pick(p))).toEqual(['a', 'b']);
    failUntilCooling(picker, 'a');
    expect(ids(picker.pick(p))).toEqual(['b', 'a']);
    expect(ids(new CredentialPicker().pick(p))).toEqual(['a', 'b']); // state is per instance
  });
});
