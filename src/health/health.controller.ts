import { Controller, Get, Inject } from '@nestjs/common';
import Redis from 'ioredis';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { REDIS } from '../redis/redis.module';

/** How long one readiness check may take before its dependency counts as down (ms). */
export const READINESS_CHECK_TIMEOUT_MS = 2000;

type CheckState = 'up' | 'down';

/** Resolves 'up' when `probe` succeeds within READINESS_CHECK_TIMEOUT_MS, else 'down'; never throws. */
function check(probe: () => Promise<unknown>): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve('down'), READINESS_CHECK_TIMEOUT_MS);
  });
  const run = Promise.resolve()
    .then(probe)
    .then(
      () => 'up' as const,
      () => 'down' as const,
    );
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness and readiness for orchestrators (docs/api/health.md). */
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

  /**
   * 200 `{status:'ok', checks:{database:'up', redis:'up'}}` when PostgreSQL and Redis answer within
   * READINESS_CHECK_TIMEOUT_MS each; otherwise 503 `{statusCode:503, code:'not_ready', message,
   * checks:{database, redis}}` naming what is down.
   */
  @Get('readyz')
  async readyz(): Promise<{ status: 'ok'; checks: Record<'database' | 'redis', CheckState> }> {
    const [database, redis] = await Promise.all([check(() => this.prisma.pool.query('SELECT 1')), check(() => this.redis.ping())]);
    const checks = { database, redis };
    const down = Object.entries(checks)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name);
    if (down.length) throw DomainError.unavailable('not_ready', `Not ready: ${down.join(' and ')} not answering`, { details: { checks } });
    return { status: 'ok', checks };
  }
}
