import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaClient } from '../generated/prisma/client';

/**
 * The one Prisma client (driver adapter adapter-pg, no native engine). It owns the pg Pool;
 * hot-path modules that need one explicit SQL statement per call (credit holds, call recording)
 * use `pool` directly so the statement is one round trip with no query-compiler work.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // connectionTimeoutMillis: a request never waits forever for a connection when the database
    // is away; it fails and the caller answers 503 (or, for call records, uses the fallback).
    const pool = new Pool({ connectionString: config.databaseUrl, max: config.databasePoolSize, connectionTimeoutMillis: config.databaseConnectTimeoutMs });
    // An idle client that errors (server restart) must not crash the process; the pool drops it.
    pool.on('error', () => undefined);
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
