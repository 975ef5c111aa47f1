import { ConfigError } from '../config/app-config';

/**
 * Settings of credential health and model health checks. Read once at boot from the environment
 * (like AppConfig: a malformed value stops boot with a message naming the variable).
 * TODO(lead): fold into AppConfig when app-config.ts is free; kept here so the providers module
 * did not have to edit a shared file.
 */
export interface ProviderHealthConfig {
  /** Failures within the window after which a credential is reported not running. */
  failureThreshold: number;
  /** Length of the sliding failure window (ms). */
  failureWindowMs: number;
  /** How long GET /ai-providers/health is served from the Redis cache (ms); 0 = no cache. */
  healthCacheTtlMs: number;
  /** Timeout of one upstream probe: credential validation, /check, model health check (ms). */
  probeTimeoutMs: number;
}

export const PROVIDER_HEALTH_CONFIG = Symbol('PROVIDER_HEALTH_CONFIG');

function int(env: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return dflt;
  }
  return n;
}

/**
 * CREDENTIAL_FAILURE_THRESHOLD (3), CREDENTIAL_FAILURE_WINDOW_SECONDS (300),
 * PROVIDER_HEALTH_CACHE_TTL_MS (5000), PROVIDER_PROBE_TIMEOUT_MS (15000).
 * @throws ConfigError naming each malformed variable
 */
export function loadProviderHealthConfig(env: Record<string, string | undefined>): ProviderHealthConfig {
  const problems: string[] = [];
  const config: ProviderHealthConfig = {
    failureThreshold: int(env, 'CREDENTIAL_FAILURE_THRESHOLD', 3, 1, 1000, problems),
    failureWindowMs: int(env, 'CREDENTIAL_FAILURE_WINDOW_SECONDS', 300, 1, 7 * 86400, problems) * 1000,
    healthCacheTtlMs: int(env, 'PROVIDER_HEALTH_CACHE_TTL_MS', 5000, 0, 3_600_000, problems),
    probeTimeoutMs: int(env, 'PROVIDER_PROBE_TIMEOUT_MS', 15_000, 100, 600_000, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Nest provider of the config (process.env is read here once, at boot). */
export const providerHealthConfigProvider = {
  provide: PROVIDER_HEALTH_CONFIG,
  useFactory: (): ProviderHealthConfig => loadProviderHealthConfig(process.env),
};
