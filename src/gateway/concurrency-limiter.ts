/**
 * Counts calls in flight per virtual key and per user in this api process and refuses past a
 * limit (docs/call-recording.md "Fair share"). A process's upstream connection pool
 * (UPSTREAM_CONNECTIONS per provider) is the resource protected, so the limits are per process
 * too: one tenant cannot hold every connection and make everyone else's calls wait.
 */
export class ConcurrencyLimiter {
  private readonly perKey = new Map<string, number>();
  private readonly perUser = new Map<string, number>();

  /** @param maxPerKey, maxPerUser: calls in flight allowed (0 = no limit) */
  constructor(
    private readonly maxPerKey: number,
    private readonly maxPerUser: number,
  ) {}

  /**
   * Takes a slot for a call of this key and user.
   * @returns a release function (idempotent), or the limit that was reached
   */
  acquire(keyId: string, userId: string): { release: () => void } | { limit: 'key' | 'user'; max: number } {
    const k = this.perKey.get(keyId) ?? 0;
    if (this.maxPerKey > 0 && k >= this.maxPerKey) return { limit: 'key', max: this.maxPerKey };
    const u = this.perUser.get(userId) ?? 0;
    if (this.maxPerUser > 0 && u >= this.maxPerUser) return { limit: 'user', max: this.maxPerUser };
    this.perKey.set(keyId, k + 1);
    this.perUser.set(userId, u + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        decrement(this.perKey, keyId);
        decrement(this.perUser, userId);
      },
    };
  }

  /** Calls in flight of one user (tests, metrics). */
  inFlight(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }
}

function decrement(map: Map<string, number>, id: string): void {
  const n = (map.get(id) ?? 1) - 1;
  if (n <= 0) map.delete(id);
  else map.set(id, n);
}
