import { Injectable } from '@nestjs/common';
import type { QueryResult } from 'pg';
import { queryWithDeadline } from '../prisma/pool-query';
import { PrismaService } from '../prisma/prisma.service';

/** Longest the scrape's statements may run on the server (ms); past it PostgreSQL cancels them. */
export const SCRAPE_STATEMENT_TIMEOUT_MS = 1_000;

/** Most credentials reported (a bound on label series, far above any real deployment). */
const MAX_CREDENTIALS = 1_000;

/**
 * What a scrape reads from PostgreSQL, as one round trip: a multi-statement simple query runs as
 * one implicit transaction, so `SET LOCAL statement_timeout` bounds both reads and ends with them.
 * - the ledger's lag: debits not yet applied and the age of the oldest (seconds);
 * - every active credential of an enabled provider with its health (no row yet = healthy).
 */
const SCRAPE_SQL = `SET LOCAL statement_timeout = ${SCRAPE_STATEMENT_TIMEOUT_MS};
SELECT count(*)::int AS pending,
       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_age_seconds
  FROM pending_debits;
SELECT p.name AS provider, c.name AS credential, COALESCE(h.healthy, true) AS healthy
  FROM ai_credentials c
  JOIN ai_providers p ON p.id = c.provider_id
  LEFT JOIN credential_health h ON h.credential_id = c.id
 WHERE c.active AND p.enabled
 ORDER BY p.name, c.name
 LIMIT ${MAX_CREDENTIALS}`;

/** The ledger's lag and the credentials' health, read on scrape. */
export interface ScrapeReading {
  pendingDebits: number;
  /** age of the oldest pending debit (seconds); 0 when there is none */
  oldestPendingDebitSeconds: number;
  credentials: { provider: string; credential: string; healthy: boolean }[];
}

/** SQL of GET /metrics (docs/data-access.md: repositories own SQL). */
@Injectable()
export class MetricsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One round trip; `deadlineMs` bounds the wait for a connection and the answer (the connection
   * is dropped past it).
   * @throws the driver's error, QueryDeadlineError, or a statement timeout (SQLSTATE 57014)
   */
  async read(deadlineMs: number): Promise<ScrapeReading> {
    const results = (await queryWithDeadline(this.prisma.pool, { text: SCRAPE_SQL }, deadlineMs)) as unknown as QueryResult[];
    const ledger = results[1].rows[0] as { pending: number; oldest_age_seconds: number };
    const credentials = results[2].rows as { provider: string; credential: string; healthy: boolean }[];
    return { pendingDebits: ledger.pending, oldestPendingDebitSeconds: ledger.oldest_age_seconds, credentials };
  }
}
