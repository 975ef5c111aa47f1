import { Counter } from 'prom-client';

/** One label set's increments not yet added to its DeferredCounter (a whole number). */
export interface PendingCount {
  n: number;
}

/**
 * A prom-client Counter whose integer increments are summed here, per label set, and added to the
 * counter when it is read (get(): every scrape, the cluster's snapshots), so that counting a call
 * is an addition to `cell(labels).n`, without prom-client's per-inc label check, label hash and
 * series lookup. Whole numbers only (calls, tokens), so the sums are exact and a scrape reads the
 * same values as with inc(). reset() and remove() apply what is pending first, so they drop it
 * as they drop what was counted. inc() works as on any Counter. Cells: one per label set met
 * (as many as the series prom-client keeps until a reset), never dropped; label names are
 * checked by the types only (an unknown one would make the next read throw).
 */
export class DeferredCounter<T extends string> extends Counter<T> {
  /** label set key → its pending count; created on first use (prom-client resets in its constructor) */
  private cells?: Map<string, PendingCount & { labels: Parameters<Counter<T>['labels']>[0] }>;

  /** The cell of `labels`: callers add whole numbers to its `n`. Made once per label set. */
  cell(labels: Parameters<Counter<T>['labels']>[0]): PendingCount {
    this.cells ??= new Map();
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = { labels, n: 0 }));
    return cell;
  }

  override get(): ReturnType<Counter<T>['get']> {
    this.apply();
    return super.get();
  }

  override reset(): void {
    this.apply();
    super.reset();
  }

  override remove(...values: string[]): void;
  override remove(labels: Parameters<Counter<T>['labels']>[0]): void;
  override remove(...args: unknown[]): void {
    this.apply();
    super.remove(...(args as string[])); // as given: label values, or one label object
  }

  /** Adds every pending count to the counter. */
  private apply(): void {
    if (!this.cells) return;
    for (const cell of this.cells.values()) {
      if (cell.n === 0) continue;
      const n = cell.n;
      cell.n = 0;
      this.inc(cell.labels, n);
    }
  }
}
