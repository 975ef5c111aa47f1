/**
 * When the api cluster's primary restarts a worker that died, and when it gives up
 * (src/cluster/api-cluster.ts). Pure: the caller passes the times.
 *
 * A worker that dies before it has served for `fastFailureMs` (from its fork) is a fast failure.
 * Fast failures in a row double the restart delay from `firstDelayMs` up to `maxDelayMs`; the
 * `maxFastFailures`-th in a row means the workers cannot boot (port taken, a bad build…): the
 * cluster stops. A worker that has been up for `fastFailureMs` clears the streak, so a crash
 * days later restarts after `firstDelayMs` again.
 */
export interface RestartPolicyOptions {
  /** a worker dying sooner than this after its fork is a fast failure (ms) */
  fastFailureMs: number;
  /** fast failures in a row after which the cluster gives up */
  maxFastFailures: number;
  /** delay before restarting a worker after a crash that was not fast (ms); doubled per fast failure in a row */
  firstDelayMs: number;
  /** longest delay before a restart (ms) */
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  fastFailureMs: 10_000,
  maxFastFailures: 5,
  firstDelayMs: 500,
  maxDelayMs: 15_000,
};

/** What to do about a worker that exited unexpectedly. */
export type RestartDecision = { action: 'restart'; delayMs: number; fastFailures: number } | { action: 'give_up'; fastFailures: number };

export class RestartPolicy {
  private fastFailures = 0;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Fast failures in a row so far. */
  get streak(): number {
    return this.fastFailures;
  }

  /**
   * A worker forked at `forkedAt` exited unexpectedly at `now` (ms since the epoch).
   * @returns restart after `delayMs`, or give up (the `maxFastFailures`-th fast failure in a row)
   */
  onExit(forkedAt: number, now: number): RestartDecision {
    if (now - forkedAt < this.options.fastFailureMs) this.fastFailures++;
    else this.fastFailures = 0;
    if (this.fastFailures >= this.options.maxFastFailures) return { action: 'give_up', fastFailures: this.fastFailures };
    const delayMs = Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** this.fastFailures);
    return { action: 'restart', delayMs, fastFailures: this.fastFailures };
  }

  /** A worker has been up for `fastFailureMs`: the workers can boot, the streak ends. */
  onStable(): void {
    this.fastFailures = 0;
  }
}
