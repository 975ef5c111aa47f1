import { isConnectionError } from '../prisma/pool-query';

/**
 * Prisma's codes for a database it cannot reach or whose pool is exhausted (P1001 cannot reach,
 * P1002 timed out, P1008 operation timed out, P1017 connection closed, P2024 pool timeout).
 */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** The Prisma error code (`P` and four digits) of an error Prisma threw, else null. */
export function prismaErrorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^P\d{4}$/.test(code) ? code : null;
}

/** Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return prismaErrorCode(err) === 'P2002';
}

/** Prisma's "record to update or delete not found" (P2025). */
export function isRecordNotFound(err: unknown): boolean {
  return prismaErrorCode(err) === 'P2025';
}

/**
 * Whether an error means the database is away (unreachable, timed out, pool exhausted, connection
 * lost) rather than a fault of the request or of Tollgate: answered 503, never 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && PRISMA_UNAVAILABLE.has(code)) || isConnectionError(err);
}
