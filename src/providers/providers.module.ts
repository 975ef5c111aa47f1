import { Module } from '@nestjs/common';
import { AiProvidersController } from './ai-providers.controller';
import { BulkRateUpdateService } from './bulk-rate-update.service';
import { CatalogService } from './catalog.service';
import { CredentialHealthRecorder } from './credential-health.recorder';
import { CredentialHealthRepository } from './credential-health.repository';
import { CredentialsController } from './credentials.controller';
import { CredentialsService } from './credentials.service';
import { DiscoveryController } from './discovery.controller';
import { ModelDiscoveryService } from './model-discovery.service';
import { ModelHealthProducer } from './model-health.producer';
import { ModelRatesController } from './model-rates.controller';
import { ModelRatesService } from './model-rates.service';
import { PriceImportService } from './price-import.service';
import { ProviderAdminService } from './provider-admin.service';
import { providerHealthConfigProvider } from './provider-health.config';
import { ProviderHealthService } from './provider-health.service';
import { ProviderProbe } from './provider-probe.service';
import { ProvidersService } from './providers.service';
import { RateHistoryRepository } from './rate-history.repository';

/**
 * Providers, credentials, model rates, the public model list and health (docs/api/providers.md).
 * Discovery is registered first so its static paths read clearly before the :providerId ones
 * (Fastify prefers static segments either way).
 */
@Module({
  controllers: [DiscoveryController, ModelRatesController, CredentialsController, AiProvidersController],
  providers: [
    CatalogService,
    ProvidersService,
    providerHealthConfigProvider,
    ProviderProbe,
    CredentialHealthRecorder,
    CredentialHealthRepository,
    ProviderHealthService,
    ProviderAdminService,
    CredentialsService,
    RateHistoryRepository,
    ModelRatesService,
    BulkRateUpdateService,
    ModelDiscoveryService,
    ModelHealthProducer,
    PriceImportService,
  ],
  exports: [CatalogService, ProvidersService, RateHistoryRepository, PriceImportService],
})
export class ProvidersModule {}
