import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';

/** The statement did not answer within its deadline; its connection was closed. */
export class QueryDeadlineError extends Error {
  readonly code = 'query_deadline';
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = 'QueryDeadlineError';
  }
}

/**
 * Runs one statement with a deadline (ms) covering both the wait for a connection and the
 * statement. On a timeout or a broken connection the connection is destroyed, not returned to
 * the pool, so a network partition (no RST, the socket simply hangs) cannot leave every pooled
 * connection stuck behind it. Whether a statement that timed out committed is unknown to the
 * caller: use it only for idempotent statements or ones whose other outcome is handled. A
 * statement that failed on a connection that was already dead is retried once on a new one.
 * @throws QueryDeadlineError, or the driver's error
 */
export async function queryWithDeadline<R extends QueryResultRow>(pool: Pool, config: QueryConfig, ms: number): Promise<QueryResult<R>> {
  const deadline = Date.now() + ms;
  try {
    return await attempt<R>(pool, config, ms);
  } catch (err) {
    // After a database restart or a network blip the pool still holds connections that died
    // meanwhile; the first statement on one fails at once. One retry on a fresh connection, within
    // the same deadline, tells a dead connection from a dead database.
    const left = deadline - Date.now();
    if (!isConnectionError(err) || err instanceof QueryDeadlineError || left < 10) throw err;
    return attempt<R>(pool, config, left);
  }
}

async function attempt<R extends QueryResultRow>(pool: Pool, config: QueryConfig, ms: number): Promise<QueryResult<R>> {
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryDeadlineError(ms)), ms);
  });
  const connecting = pool.connect();
  let client: Awaited<typeof connecting>;
  try {
    client = await Promise.race([connecting, expired]);
  } catch (err) {
    clearTimeout(timer);
    // A connection that arrives after the deadline goes straight back to the pool.
    connecting.then(
      (c) => c.release(),
      () => undefined,
    );
    throw err;
  }
  let broken = false;
  try {
    if (Date.now() >= deadline) throw new QueryDeadlineError(ms);
    return await Promise.race([client.query<R>(config), expired]);
  } catch (err) {
    broken = err instanceof QueryDeadlineError || isConnectionError(err);
    throw err;
  } finally {
    clearTimeout(timer);
    client.release(broken);
  }
}

/**
 * Whether an error says the database could not be reached or went away (as opposed to a
 * statement the database refused): socket errors, pool/connection timeouts, SQLSTATE classes 08
 * (connection exception), 53 (insufficient resources) and 57 (operator intervention: shutdown,
 * cancel), and our own deadline.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof QueryDeadlineError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|53|57)/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code))
    return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable|Query read timeout/i.test(
    message,
  );
}

/**
 * Whether PostgreSQL refused the data of a statement (SQLSTATE class 22 data exception, e.g. a
 * NUL byte in text or a value out of range; class 23 integrity violation, e.g. a foreign key to a
 * deleted row). Such an error is about some row of a batch, not the connection: retrying the same
 * rows fails again, splitting the batch isolates the bad row.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}
