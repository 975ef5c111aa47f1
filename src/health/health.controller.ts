import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { REDIS } from '../redis/redis.module';
import { MigrationsCheck } from './migrations-check';

/** How long one readiness check may take before its dependency counts as down (ms). */
export const READINESS_CHECK_TIMEOUT_MS = 2000;

type CheckName = 'database' | 'redis' | 'migrations';
type CheckState = 'up' | 'down';

/** Readiness answer: every check `up`. */
export interface ReadyJson {
  status: 'ok';
  checks: Record<CheckName, CheckState>;
}

/** Resolves `probe`'s value, or rejects when it fails or takes longer than READINESS_CHECK_TIMEOUT_MS. */
function withinTimeout<T>(probe: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_CHECK_TIMEOUT_MS} ms`)), READINESS_CHECK_TIMEOUT_MS);
  });
  return Promise.race([Promise.resolve().then(probe), timeout]).finally(() => clearTimeout(timer));
}

/** Liveness and readiness for orchestrators (docs/api/health.md). Checks run through @nestjs/terminus. */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly migrations: MigrationsCheck,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** 200 `{status:'ok'}` while the process runs; touches nothing else. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 200 `{status:'ok', checks:{database:'up', redis:'up', migrations:'up'}}` when PostgreSQL and
   * Redis answer within READINESS_CHECK_TIMEOUT_MS each and every folder of prisma/migrations is
   * applied. Otherwise 503 `{statusCode:503, code:'not_ready', message, checks}` with the down
   * checks named in `message`, plus `missingMigrations: string[]` (folder names, in order) when
   * migrations are missing. Also 503 while the process shuts down (terminus), all checks as found.
   */
  @Get('readyz')
  async readyz(): Promise<ReadyJson> {
    const result = await this.health
      .check([
        () => this.probe('database', () => this.prisma.pool.query('SELECT 1')),
        () => this.probe('redis', () => this.redis.ping()),
        () => this.migrationsIndicator(),
      ])
      .catch((err: unknown) => {
        if (err instanceof ServiceUnavailableException) return err.getResponse() as HealthCheckResult;
        throw err;
      });
    const details = result.details as Record<CheckName, { status: CheckState; message?: string; missing?: string[] }>;
    const checks = {
      database: details.database?.status ?? 'down',
      redis: details.redis?.status ?? 'down',
      migrations: details.migrations?.status ?? 'down',
    };
    if (result.status === 'ok') return { status: 'ok', checks };
    const reasons = (Object.keys(checks) as CheckName[])
      .filter((name) => checks[name] === 'down')
      .map((name) => details[name]?.message ?? `${name} not answering`);
    const missing = details.migrations?.missing;
    const message = result.status === 'shutting_down' ? 'Not ready: shutting down' : `Not ready: ${reasons.join('; ') || 'a check failed'}`;
    throw DomainError.unavailable('not_ready', message, {
      details: { checks, ...(missing?.length ? { missingMigrations: missing } : {}) },
    });
  }

  /** `up` when `probe` succeeds within READINESS_CHECK_TIMEOUT_MS, else `down` with "<name> not answering". */
  private async probe(name: 'database' | 'redis', probe: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(name);
    try {
      await withinTimeout(probe);
      return session.up();
    } catch {
      return session.down({ message: `${name} not answering` });
    }
  }

  /** `up` when every migration folder is applied; `down` naming the missing ones (or why it cannot tell). */
  private async migrationsIndicator(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('migrations');
    try {
      const state = await withinTimeout(() => this.migrations.state());
      if (state.ok) return session.up();
      if (state.reason === 'missing')
        return session.down({ message: `migrations not applied: ${state.missing.join(', ')}`, missing: state.missing });
      return session.down({ message: `migrations cannot be verified: ${state.message}` });
    } catch {
      return session.down({ message: 'migrations cannot be verified (database not answering)' });
    }
  }
}
