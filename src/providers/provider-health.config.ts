import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/**
 * Settings of credential health and model health checks (AppConfig.providerHealth):
 * CREDENTIAL_FAILURE_THRESHOLD (3), CREDENTIAL_FAILURE_WINDOW_SECONDS (300),
 * PROVIDER_HEALTH_CACHE_TTL_MS (5000), PROVIDER_PROBE_TIMEOUT_MS (15000).
 */
export type ProviderHealthConfig = AppConfig['providerHealth'];

export const PROVIDER_HEALTH_CONFIG = Symbol('PROVIDER_HEALTH_CONFIG');

/** Nest provider of the providers module's slice of the validated AppConfig. */
export const providerHealthConfigProvider = {
  provide: PROVIDER_HEALTH_CONFIG,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): ProviderHealthConfig => config.providerHealth,
};
