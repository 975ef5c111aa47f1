import { Inject, Injectable } from '@nestjs/common';
import { request } from 'undici';
import { ModelType } from '../generated/prisma/enums';
import { PROVIDER_HEALTH_CONFIG, ProviderHealthConfig } from './provider-health.config';

/**
 * What one probe saw. `ok`: 2xx. `unauthorized`: 401/403 (the credential is refused).
 * `rejected`: another 4xx (the credential got through, the request did not, e.g. unknown model).
 * `unavailable`: 5xx, 429, timeout or connection error (nothing known about the credential).
 */
export type ProbeOutcome = 'ok' | 'unauthorized' | 'rejected' | 'unavailable';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** upstream HTTP status; null when no answer came */
  status: number | null;
  /** ms from sending to the complete answer (or the failure) */
  latencyMs: number;
  /** short reason for anything but ok: "HTTP 401", "timeout", "ECONNREFUSED"; never the secret */
  error: string | null;
}

/** The smallest request that proves a model answers, per type. Image generation is not run (it costs): listing models stands in. */
function minimalRequest(model: string, type: ModelType): { method: 'GET' | 'POST'; path: string; body?: string } {
  switch (type) {
    case 'chatCompletion':
      return {
        method: 'POST',
        path: '/chat/completions',
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }),
      };
    case 'embedding':
      return { method: 'POST', path: '/embeddings', body: JSON.stringify({ model, input: 'ping' }) };
    case 'imageGeneration':
      return { method: 'GET', path: '/models' };
  }
}

/**
 * Calls a provider's OpenAI-compatible API with a credential to learn whether it works:
 * credential validation and /check list models (GET {baseUrl}/models), health-check jobs send a
 * minimal request for one model. Every probe is bounded by PROVIDER_PROBE_TIMEOUT_MS and never
 * throws: failures come back as a ProbeResult.
 */
@Injectable()
export class ProviderProbe {
  constructor(@Inject(PROVIDER_HEALTH_CONFIG) private readonly config: ProviderHealthConfig) {}

  /** GET {baseUrl}/models with the secret as Bearer token. */
  listModels(baseUrl: string, secret: string): Promise<ProbeResult> {
    return this.send(baseUrl, secret, { method: 'GET', path: '/models' });
  }

  /** A minimal call of one model (chat: 1 token of output; embedding: one word). */
  pingModel(baseUrl: string, secret: string, model: string, type: ModelType): Promise<ProbeResult> {
    return this.send(baseUrl, secret, minimalRequest(model, type));
  }

  private async send(baseUrl: string, secret: string, req: { method: 'GET' | 'POST'; path: string; body?: string }): Promise<ProbeResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const headers: Record<string, string> = { authorization: `Bearer ${secret}`, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await request(baseUrl.replace(/\/+$/, '') + req.path, {
        method: req.method,
        headers,
        body: req.body,
        headersTimeout: this.config.probeTimeoutMs,
        bodyTimeout: this.config.probeTimeoutMs,
        signal: AbortSignal.timeout(this.config.probeTimeoutMs),
      });
      await res.body.dump({ limit: 1 << 20 }).catch(() => undefined);
      const status = res.statusCode;
      const outcome: ProbeOutcome =
        status >= 200 && status < 300
          ? 'ok'
          : status === 401 || status === 403
            ? 'unauthorized'
            : status >= 500 || status === 429
              ? 'unavailable'
              : 'rejected';
      return { outcome, status, latencyMs: elapsed(), error: outcome === 'ok' ? null : `HTTP ${status}` };
    } catch (err) {
      const e = err as { code?: string; name?: string };
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(e.code ?? '') ? 'timeout' : (e.code ?? e.name ?? 'error');
      return { outcome: 'unavailable', status: null, latencyMs: elapsed(), error: reason };
    }
  }
}
