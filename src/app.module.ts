import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import type { DestinationStream } from 'pino';
import { ConfigModule } from './config/config.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CreditsModule } from './credits/credits.module';
import { CryptoModule } from './crypto/crypto.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { KeysModule } from './keys/keys.module';
import { loggingModule } from './logging/logging.module';
import { ModelCallsModule } from './model-calls/model-calls.module';
import { PrismaModule } from './prisma/prisma.module';
import { ProvidersModule } from './providers/providers.module';
import { RedisModule } from './redis/redis.module';
import { SettingsModule } from './settings/settings.module';
import { TeamsModule } from './teams/teams.module';
import { ToieeModule } from './toiee/toiee.module';
import { UserImportModule } from './user-import/user-import.module';
import { UsersModule } from './users/users.module';
import { LlmConfigModule } from './llm-config/llm-config.module';
import { MetricsModule } from './metrics/metrics.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';

export interface AppModuleOptions {
  /** where log lines go (default stdout); tests capture them */
  logStream?: DestinationStream;
}

/** The api process: HTTP endpoints only. Background jobs run in the worker (src/worker.ts). */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule,
        loggingModule(options.logStream),
        PrismaModule,
        RedisModule,
        AuditModule,
        MetricsModule,
        RateLimitModule,
        JobsModule,
        CryptoModule,
        SettingsModule,
        UsersModule,
        TeamsModule,
        ToieeModule,
        UserImportModule,
        LlmConfigModule,
        KeysModule,
        AuthModule,
        ProvidersModule,
        CreditsModule,
        ModelCallsModule,
        GatewayModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
