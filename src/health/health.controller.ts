import { Controller, Get, HttpException, Inject } from '@nestjs/common';
import Redis from 'ioredis';
import { Public } from '../auth/auth.decorators';
import { PrismaService } from '../prisma/prisma.service';
import { REDIS } from '../redis/redis.module';

/** Liveness and readiness for orchestrators (DESIGN.md "Ops"). */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** 200 while the process runs. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when PostgreSQL and Redis answer; 503 `{status:'unavailable', checks}` otherwise. */
  @Get('readyz')
  async readyz(): Promise<{ status: 'ok'; checks: Record<string, 'up' | 'down'> }> {
    const [db, redis] = await Promise.all([
      this.prisma.pool.query('SELECT 1').then(() => 'up' as const, () => 'down' as const),
      this.redis.ping().then(() => 'up' as const, () => 'down' as const),
    ]);
    const checks = { database: db, redis };
    if (db === 'down' || redis === 'down') throw new HttpException({ status: 'unavailable', checks }, 503);
    return { status: 'ok', checks };
  }
}
