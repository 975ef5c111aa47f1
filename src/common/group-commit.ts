/**
 * Group commit: items added while a write is in flight are written together in the next batch.
 * With `lingerMs` 0 an item added when the writer is idle is written at once, so a lone call
 * waits for nothing, and under load batches grow by themselves. With `lingerMs` > 0 the first
 * item of a batch waits that long for company (for work off the response path, where fewer,
 * larger statements save database time).
 *
 * `add()` resolves with the item's result when the batch holding it is written. `write` may
 * answer per item (an Error for an item that failed, a result for one written): then only the
 * failed items' `add()` reject. If `write` throws, every item of the batch rejects with that error.
 */
export class GroupCommit<T, R = void> {
  private queue: { item: T; resolve: (r: R) => void; reject: (err: Error) => void }[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private lingering: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: {
      maxBatch: number;
      /** writes allowed at the same time */
      concurrency: number;
      /** how long a batch waits for more items before it is written (ms, default 0) */
      lingerMs?: number;
      /** writes a batch; per-item results in order, or nothing (every item gets undefined) */
      write: (items: T[]) => Promise<readonly (R | Error)[] | void>;
      onError: (items: T[], err: Error) => void;
    },
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      const linger = this.opts.lingerMs ?? 0;
      if (linger > 0 && this.queue.length < this.opts.maxBatch) {
        this.lingering ??= setTimeout(() => {
          this.lingering = null;
          this.pump();
        }, linger);
        return;
      }
      this.pump();
    });
  }

  /** Items waiting for a write (not yet handed to `write`). */
  get queued(): number {
    return this.queue.length;
  }

  /** Writes what is queued now (no lingering) and resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.lingering) {
      clearTimeout(this.lingering);
      this.lingering = null;
    }
    this.pump();
    return done;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.concurrency) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.opts
        .write(batch.map((b) => b.item))
        .then(
          (results) =>
            batch.forEach((b, i) => {
              const r = results ? results[i] : undefined;
              if (r instanceof Error) b.reject(r);
              else b.resolve(r as R);
            }),
          (err: Error) => {
            this.opts.onError(
              batch.map((b) => b.item),
              err,
            );
            batch.forEach((b) => b.reject(err));
          },
        )
        .finally(() => {
          this.inFlight--;
          if (!this.lingering) this.pump();
          if (this.queue.length === 0 && this.inFlight === 0) {
            const waiters = this.idle;
            this.idle = [];
            waiters.forEach((w) => w());
          }
        });
    }
  }
}
