import { Injectable } from '@nestjs/common';
import { RouteCredential, RouteProvider } from '../providers/catalog.service';

/** Consecutive failures after which a credential sits out. */
const FAILURES_BEFORE_COOLDOWN = 3;
/** How long a failing credential is skipped (ms) while others are available. */
const COOLDOWN_MS = 30_000;

interface Health {
  consecutiveFailures: number;
  coolUntil: number;
}

/**
 * Chooses which of a provider's active credentials carries a call: weighted random among the
 * healthy ones (docs/api/gateway.md). A credential
 * that failed FAILURES_BEFORE_COOLDOWN times in a row is skipped for COOLDOWN_MS unless no
 * other is left. State is per process; persisted health is the providers module's
 * (docs/api/providers.md "Credentials").
 */
@Injectable()
export class CredentialPicker {
  private readonly health = new Map<string, Health>();

  /**
   * Up to two credentials for one call: the first by weight, the second (for the single retry)
   * another one by weight among the rest. Empty when the provider has no active credential.
   */
  pick(provider: RouteProvider, now = Date.now()): RouteCredential[] {
    const all = provider.credentials.filter((c) => c.weight > 0);
    if (all.length === 0) return [];
    const healthy = all.filter((c) => (this.health.get(c.id)?.coolUntil ?? 0) <= now);
    const pool = healthy.length > 0 ? healthy : all;
    const first = weighted(pool);
    const rest = all.filter((c) => c.id !== first.id);
    const restHealthy = rest.filter((c) => (this.health.get(c.id)?.coolUntil ?? 0) <= now);
    const second = rest.length === 0 ? null : weighted(restHealthy.length > 0 ? restHealthy : rest);
    return second ? [first, second] : [first];
  }

  succeeded(credentialId: string): void {
    if (this.health.has(credentialId)) this.health.delete(credentialId);
  }

  failed(credentialId: string, now = Date.now()): void {
    const h = this.health.get(credentialId) ?? { consecutiveFailures: 0, coolUntil: 0 };
    h.consecutiveFailures++;
    if (h.consecutiveFailures >= FAILURES_BEFORE_COOLDOWN) h.coolUntil = now + COOLDOWN_MS;
    this.health.set(credentialId, h);
  }
}

function weighted(list: RouteCredential[]): RouteCredential {
  if (list.length === 1) return list[0];
  const total = list.reduce((s, c) => s + c.weight, 0);
  let r = Math.random() * total;
  for (const c of list) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return list[list.length - 1];
}
