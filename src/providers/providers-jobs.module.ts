import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { CredentialHealthRecorder } from './credential-health.recorder';
import { CredentialHealthRepository } from './credential-health.repository';
import { ModelHealthProcessor } from './model-health.processor';
import { providerHealthConfigProvider } from './provider-health.config';
import { ProviderProbe } from './provider-probe.service';

/** The providers module's jobs, for the worker (src/worker.module.ts): `model-health.check` (docs/jobs.md). */
@Module({
  imports: [CryptoModule],
  providers: [ModelHealthProcessor, ProviderProbe, CredentialHealthRecorder, CredentialHealthRepository, providerHealthConfigProvider],
})
export class ProvidersJobsModule {}
