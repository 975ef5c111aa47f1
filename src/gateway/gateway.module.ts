import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CreditsModule } from '../credits/credits.module';
import { KeysModule } from '../keys/keys.module';
import { MeteringModule } from '../metering/metering.module';
import { ModelCallsModule } from '../model-calls/model-calls.module';
import { ProvidersModule } from '../providers/providers.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SettingsModule } from '../settings/settings.module';
import { CallAdmissionService } from './call-admission.service';
import { CallLog } from './call-log.service';
import { CredentialPicker } from './credential-picker.service';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';
import { UpstreamClient } from './upstream-client.service';
import { UpstreamForwarder } from './upstream-forwarder.service';

@Module({
  imports: [
    KeysModule,
    ProvidersModule,
    CreditsModule,
    ModelCallsModule,
    SettingsModule,
    RateLimitModule,
    MeteringModule.registerAsync({ inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.tokenizer }),
  ],
  controllers: [GatewayController],
  providers: [GatewayService, CallAdmissionService, CallLog, CredentialPicker, UpstreamClient, UpstreamForwarder],
})
export class GatewayModule {}
