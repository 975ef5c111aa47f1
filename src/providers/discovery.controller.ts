import { Controller, Get, Header } from '@nestjs/common';
import { Auth, Public } from '../auth/auth.decorators';
import { ModelDiscoveryService, PublicModel } from './model-discovery.service';
import { ModelHealthProducer, TestModelsResult } from './model-health.producer';
import { HealthSummary, ProviderHealthService } from './provider-health.service';

/** Service discovery and monitoring (docs/api/providers.md "Discovery and monitoring"). */
@Controller('ai-providers')
export class DiscoveryController {
  constructor(
    private readonly discovery: ModelDiscoveryService,
    private readonly producer: ModelHealthProducer,
    private readonly health: ProviderHealthService,
  ) {}

  /**
   * GET /ai-providers/models (public) → LiteLLM-compatible list of every enabled model at an enabled provider:
   * `{key: "provider/model", model, type: chat|embedding|image_generation, provider, providerId,
   * input_credits_per_token, output_credits_per_token, modelMetadata, status: {id, lastChecked, latency (ms), status}|null, providerDisplayName}`.
   */
  @Get('models')
  @Public()
  models(): Promise<PublicModel[]> {
    return this.discovery.models();
  }

  /**
   * GET /ai-providers/test-models (admin) → `{enqueued, alreadyQueued, jobs: [{jobId, rateId, key, type, queued}]}`:
   * one health-check job per enabled model on MODEL_HEALTH_QUEUE (deduplicated by job id); answers at once,
   * the worker records the results (see GET /ai-providers/models `status`).
   */
  @Get('test-models')
  @Auth({ admin: true })
  testModels(): Promise<TestModelsResult> {
    return this.producer.enqueueAll();
  }

  /**
   * GET /ai-providers/health (public, for monitoring) → `{providers: {<name>: {<credential name>: {running}}}, timestamp}`
   * from stored state (cached PROVIDER_HEALTH_CACHE_TTL_MS), never an upstream call. running = active and not
   * failed CREDENTIAL_FAILURE_THRESHOLD times within CREDENTIAL_FAILURE_WINDOW_SECONDS since its last success.
   */
  @Get('health')
  @Public()
  @Header('cache-control', 'no-store')
  providerHealth(): Promise<HealthSummary> {
    return this.health.summary();
  }
}
