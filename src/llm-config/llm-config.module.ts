import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { AdminLlmProfilesController } from './admin-llm-profiles.controller';
import { LlmConfigCache } from './llm-config-cache';
import { LlmConfigRoutes } from './llm-config-routes';
import { LlmConfigController } from './llm-config.controller';
import { LlmConfigRepository } from './llm-config.repository';
import { LlmConfigService } from './llm-config.service';
import { LlmProfilesService } from './llm-profiles.service';

/** The per-user LLM configuration API for coding agents (docs/api/llm-config.md). */
@Module({
  imports: [KeysModule, RateLimitModule],
  controllers: [LlmConfigController, AdminLlmProfilesController],
  providers: [LlmConfigRoutes, LlmConfigRepository, LlmConfigCache, LlmConfigService, LlmProfilesService],
})
export class LlmConfigModule {}
