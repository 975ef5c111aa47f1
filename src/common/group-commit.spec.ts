import { GroupCommit } from './group-commit';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (err: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** How a promise settled, without throwing. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );
}

/**
 * A GroupCommit whose writes wait until the test finishes them: `batches` lists what each write
 * got, `pending` the writes not finished yet (finish with `pending[i].resolve(results)`).
 */
function controlled<R = void>(opts: { maxBatch?: number; concurrency?: number; lingerMs?: number } = {}) {
  const batches: string[][] = [];
  const pending: Deferred<readonly (R | Error)[] | void>[] = [];
  const errors: { items: string[]; err: Error }[] = [];
  const gc = new GroupCommit<string, R>({
    maxBatch: opts.maxBatch ?? 100,
    concurrency: opts.concurrency ?? 1,
    lingerMs: opts.lingerMs,
    write: (items) => {
      batches.push([...items]);
      const d = deferred<readonly (R | Error)[] | void>();
      pending.push(d);
      return d.promise;
    },
    onError: (items, err) => errors.push({ items: [...items], err }),
  });
  return { gc, batches, pending, errors };
}

describe('GroupCommit', () => {
  afterEach(() => jest.useRealTimers());

  it('writes a lone item at once and resolves with its result', async () => {
    const { gc, batches, pending } = controlled<string>();
    const a = gc.add('a');
    expect(batches).toEqual([['a']]);
    expect(gc.queued).toBe(0);
    pending[0].resolve(['A']);
    await expect(a).resolves.toBe('A');
  });

  it('batches items that arrive while a write is in flight, in order', async () => {
    const { gc, batches, pending } = controlled<string>();
    const a = gc.add('a');
    const rest = ['b', 'c', 'd'].map((x) => gc.add(x));
    expect(batches).toEqual([['a']]);
    expect(gc.queued).toBe(3);
    pending[0].resolve(['A']);
    await flush();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(gc.queued).toBe(0);
    pending[1].resolve(['B', 'C', 'D']);
    await expect(Promise.all([a, ...rest])).resolves.toEqual(['A', 'B', 'C', 'D']);
  });

  it('caps batches at maxBatch', async () => {
    const { gc, batches, pending } = controlled({ maxBatch: 2 });
    const items = ['a', 'b', 'c', 'd', 'e'].map((x) => gc.add(x));
    expect(batches).toEqual([['a']]);
    pending[0].resolve();
    await flush();
    expect(batches).toEqual([['a'], ['b', 'c']]);
    expect(gc.queued).toBe(2);
    pending[1].resolve();
    await flush();
    expect(batches).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    pending[2].resolve();
    await Promise.all(items);
  });

  it('runs up to `concurrency` writes at the same time', async () => {
    const { gc, batches, pending } = controlled({ concurrency: 2, maxBatch: 2 });
    const items = ['a', 'b', 'c', 'd', 'e'].map((x) => gc.add(x));
    // a and b each found a free writer; c, d, e wait
    expect(batches).toEqual([['a'], ['b']]);
    expect(gc.queued).toBe(3);
    pending[1].resolve();
    await flush();
    expect(batches).toEqual([['a'], ['b'], ['c', 'd']]);
    pending[0].resolve();
    await flush();
    expect(batches).toEqual([['a'], ['b'], ['c', 'd'], ['e']]);
    pending[2].resolve();
    pending[3].resolve();
    await expect(Promise.all(items)).resolves.toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('settles each item with its own result: an Error rejects only that item', async () => {
    const { gc, pending, errors } = controlled<string>();
    const first = gc.add('first');
    const a = settle(gc.add('a'));
    const b = settle(gc.add('b'));
    const c = settle(gc.add('c'));
    pending[0].resolve(['ok']);
    await first;
    await flush();
    const bad = new Error('row b refused');
    pending[1].resolve(['A', bad, 'C']);
    expect(await a).toEqual({ ok: true, value: 'A' });
    expect(await b).toEqual({ ok: false, error: bad });
    expect(await c).toEqual({ ok: true, value: 'C' });
    expect(errors).toEqual([]); // per-item errors are not batch errors
  });

  it('resolves every item with undefined when write answers nothing', async () => {
    const { gc, pending } = controlled<string>();
    const a = gc.add('a');
    pending[0].resolve();
    await expect(a).resolves.toBeUndefined();
  });

  it('rejects every item of a batch whose write throws, reports it once, and goes on with the next batch', async () => {
    const { gc, batches, pending, errors } = controlled<string>();
    const first = settle(gc.add('first'));
    const rest = ['a', 'b'].map((x) => settle(gc.add(x)));
    const boom = new Error('connection lost');
    pending[0].reject(boom);
    expect(await first).toEqual({ ok: false, error: boom });
    await flush();
    expect(errors).toEqual([{ items: ['first'], err: boom }]);
    // the queued batch is still written
    expect(batches).toEqual([['first'], ['a', 'b']]);
    const boom2 = new Error('again');
    pending[1].reject(boom2);
    expect(await Promise.all(rest)).toEqual([
      { ok: false, error: boom2 },
      { ok: false, error: boom2 },
    ]);
    expect(errors).toEqual([
      { items: ['first'], err: boom },
      { items: ['a', 'b'], err: boom2 },
    ]);
    // and the committer still works afterwards
    const after = gc.add('after');
    pending[2].resolve(['ok']);
    await expect(after).resolves.toBe('ok');
  });

  it('rejects a batch whose async write throws synchronously inside', async () => {
    const gc = new GroupCommit<string, string>({
      maxBatch: 10,
      concurrency: 1,
      write: async () => {
        throw new Error('bad statement');
      },
      onError: () => undefined,
    });
    await expect(gc.add('a')).rejects.toThrow('bad statement');
    await expect(gc.drain()).resolves.toBeUndefined();
  });

  describe('drain', () => {
    it('resolves at once when idle', async () => {
      const { gc, batches } = controlled();
      await expect(gc.drain()).resolves.toBeUndefined();
      expect(batches).toEqual([]);
    });

    it('resolves only when nothing is queued or in flight', async () => {
      const { gc, pending } = controlled({ maxBatch: 2 });
      const items = ['a', 'b', 'c', 'd'].map((x) => gc.add(x));
      let drained = false;
      const d = gc.drain().then(() => (drained = true));
      pending[0].resolve();
      await flush();
      expect(drained).toBe(false);
      pending[1].resolve();
      await flush();
      expect(drained).toBe(false);
      pending[2].resolve();
      await d;
      expect(drained).toBe(true);
      await Promise.all(items);
    });

    it('resolves after a failed batch too', async () => {
      const { gc, pending } = controlled();
      const a = settle(gc.add('a'));
      const d = gc.drain();
      pending[0].reject(new Error('down'));
      await d;
      expect((await a).ok).toBe(false);
    });
  });

  describe('linger', () => {
    it('holds the first item of a batch for lingerMs to gather company', async () => {
      jest.useFakeTimers();
      const { gc, batches, pending } = controlled({ lingerMs: 50 });
      const items = ['a', 'b', 'c'].map((x) => gc.add(x));
      expect(batches).toEqual([]);
      expect(gc.queued).toBe(3);
      jest.advanceTimersByTime(49);
      expect(batches).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(batches).toEqual([['a', 'b', 'c']]);
      pending[0].resolve();
      await Promise.all(items);
    });

    it('does not wait once a batch is full', () => {
      jest.useFakeTimers();
      const { gc, batches } = controlled({ lingerMs: 1000, maxBatch: 3 });
      void gc.add('a');
      void gc.add('b');
      expect(batches).toEqual([]);
      void gc.add('c');
      expect(batches).toEqual([['a', 'b', 'c']]);
    });

    it('lingers again for the next batch', async () => {
      jest.useFakeTimers();
      const { gc, batches, pending } = controlled({ lingerMs: 50 });
      const a = gc.add('a');
      jest.advanceTimersByTime(50);
      pending[0].resolve();
      await a;
      const b = gc.add('b');
      await flush();
      expect(batches).toEqual([['a']]);
      jest.advanceTimersByTime(50);
      expect(batches).toEqual([['a'], ['b']]);
      pending[1].resolve();
      await b;
    });

    it('items added during a write linger for the timer, not the end of the write', async () => {
      jest.useFakeTimers();
      const { gc, batches, pending } = controlled({ lingerMs: 50 });
      const a = gc.add('a');
      jest.advanceTimersByTime(50);
      expect(batches).toEqual([['a']]);
      const b = gc.add('b');
      pending[0].resolve();
      await a;
      await flush();
      expect(batches).toEqual([['a']]); // b waits for its linger timer
      jest.advanceTimersByTime(50);
      expect(batches).toEqual([['a'], ['b']]);
      pending[1].resolve();
      await b;
    });

    it('drain writes lingering items at once', async () => {
      jest.useFakeTimers();
      const { gc, batches, pending } = controlled({ lingerMs: 60_000 });
      const items = ['a', 'b'].map((x) => gc.add(x));
      const d = gc.drain();
      expect(batches).toEqual([['a', 'b']]);
      pending[0].resolve();
      await d;
      await Promise.all(items);
      // the cancelled timer does not fire later: the next item lingers its own full time
      jest.advanceTimersByTime(59_000);
      const c = gc.add('c');
      jest.advanceTimersByTime(1_000);
      expect(batches).toEqual([['a', 'b']]);
      jest.advanceTimersByTime(59_000);
      expect(batches).toEqual([['a', 'b'], ['c']]);
      pending[1].resolve();
      await c;
    });
  });
});
