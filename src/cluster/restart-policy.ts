/**
 * When the api cluster's primary restarts a worker that died, and when it gives up
 * (src/cluster/api-cluster.ts). Pure: the caller says whether the worker had become stable.
 *
 * A worker is stable once it has been listening for `stableAfterMs`. One that dies before (at
 * boot, however long its boot took, or soon after) is a fast failure. Fast failures in a row
 * double the restart delay from `firstDelayMs` up to `maxDelayMs`; the `maxFastFailures`-th in a
 * row means the workers cannot boot (port taken, a bad build…): the cluster stops. A worker
 * becoming stable clears the streak, so a crash days later restarts after `firstDelayMs` again.
 */
export interface RestartPolicyOptions {
  /** a worker listening this long is stable; one dying before is a fast failure (ms) */
  stableAfterMs: number;
  /** fast failures in a row after which the cluster gives up */
  maxFastFailures: number;
  /** delay before restarting a worker after a crash that was not fast (ms); doubled per fast failure in a row */
  firstDelayMs: number;
  /** longest delay before a restart (ms) */
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  stableAfterMs: 10_000,
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
   * A worker exited unexpectedly; `stable`: it had been listening for `stableAfterMs`.
   * @returns restart after `delayMs`, or give up (the `maxFastFailures`-th fast failure in a row)
   */
  onExit(stable: boolean): RestartDecision {
    this.fastFailures = stable ? 0 : this.fastFailures + 1;
    if (this.fastFailures >= this.options.maxFastFailures) return { action: 'give_up', fastFailures: this.fastFailures };
    const delayMs = Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** this.fastFailures);
    return { action: 'restart', delayMs, fastFailures: this.fastFailures };
  }

  /** A worker became stable: the workers can boot, the streak ends. */
  onStable(): void {
    this.fastFailures = 0;
  }
}
