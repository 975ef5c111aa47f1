import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in one transaction on one pooled connection: BEGIN, `fn(client)`, COMMIT; ROLLBACK if
 * `fn` (or COMMIT) throws, and the error is rethrown. `fn` passes `client` to every repository
 * method that belongs to the unit of work (docs/data-access.md "Transactions"). The connection
 * goes back to the pool either way.
 */
export async function withPoolTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
