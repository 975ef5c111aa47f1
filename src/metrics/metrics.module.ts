import { Module } from '@nestjs/common';

/** Prometheus metrics at GET /metrics (docs/operations.md). */
@Module({})
export class MetricsModule {}
