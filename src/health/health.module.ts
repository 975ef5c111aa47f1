import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { MigrationsCheck } from './migrations-check';

/**
 * GET /healthz and GET /readyz (docs/api/health.md). Terminus logs nothing itself: a failed
 * readiness check is answered 503 `not_ready` and logged at warn by src/common/all-exceptions.filter.ts.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [MigrationsCheck],
})
export class HealthModule {}
