import { Module } from '@nestjs/common';

/** The per-user LLM configuration API for coding agents (docs/api/llm-config.md). */
@Module({})
export class LlmConfigModule {}
