/**
 * Group commit: items added while a write is in flight are written together in the next batch.
 * With `lingerMs` 0 an item added when the writer is idle is written at once, so a lone call
 * waits for nothing, and under load batches grow by themselves. With `lingerMs` > 0 the first
 * item of a batch waits that long for company (for work off the response path, where fewer,
 * larger statements save database time). `add()` resolves when the batch holding the item is
 * written, or rejects with the batch's error.
 */
export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (err: Error) => void }[] = [];
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
      write: (items: T[]) => Promise<void>;
      onError: (items: T[], err: Error) => void;
    },
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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
          () => batch.forEach((b) => b.resolve()),
          (err: Error) => {
            this.opts.onError(batch.map((b) => b.item), err);
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
