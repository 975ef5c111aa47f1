/**
 * Group commit: items added while a write is in flight are written together in the next batch.
 * No timer: an item added when the writer is idle is written at once, so a lone call waits for
 * nothing, and under load batches grow by themselves. `add()` resolves when the batch holding
 * the item is written, or rejects with the batch's error.
 */
export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (err: Error) => void }[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly opts: {
      maxBatch: number;
      /** writes allowed at the same time */
      concurrency: number;
      write: (items: T[]) => Promise<void>;
      onError: (items: T[], err: Error) => void;
    },
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
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
          this.pump();
          if (this.queue.length === 0 && this.inFlight === 0) {
            const waiters = this.idle;
            this.idle = [];
            waiters.forEach((w) => w());
          }
        });
    }
  }
}
