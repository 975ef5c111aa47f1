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
    // A request never waits forever on the database: not for a connection (connectionTimeoutMillis)
    // nor for an answer (query_timeout: a partition drops packets without a reset). It fails, and
    // the caller answers 503 (or, for call records, uses the fallback).
    const pool = new Pool({
      connectionString: config.databaseUrl,
      max: config.databasePoolSize,
      // Idle connections are kept down to DATABASE_POOL_MIN: a burst after a quiet spell would
      // otherwise wait for new backends (measured: the first calls of a burst of 50 after 10 s
      // idle took 0.5-0.7 s with the pool at 1 connection, bench/README.md "A warm pool").
      min: config.databasePoolMin,
      connectionTimeoutMillis: config.databaseConnectTimeoutMs,
      query_timeout: config.databaseQueryTimeoutMs,
    });
    // A client whose socket fails (server restart, reset) must not crash the process: idle ones
    // are dropped by the pool; a checked-out one reports the failure to its query, and the
    // 'error' event it may also emit needs a listener, or Node throws it.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
