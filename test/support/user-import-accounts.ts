/**
 * Accounts for the user-import suites (test/user-import.e2e-spec.ts, test/tollgate-users-cli.e2e-spec.ts),
 * written straight to the database so the suites depend only on the schema: a user with a role
 * and a credit account, and a service key with scopes (its secret returned once).
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { generateVirtualKeySecret, hashVirtualKeySecret, VIRTUAL_KEY_DISPLAY_LENGTH } from '../../src/keys/virtual-key';
import { generateDid } from '../../src/users/did';

export interface TestAccount {
  id: string;
  email: string;
  /** a live key of this user with the scopes asked for */
  key: string;
}

/** Creates a user with `role` and a key carrying `scopes`. */
export async function createAccount(pool: Pool, email: string, role: string, scopes: string[]): Promise<TestAccount> {
  const id = randomUUID();
  await pool.query(`INSERT INTO users (id, did, email, role, updated_at) VALUES ($1, $2, $3, $4::"UserRole", now())`, [
    id,
    generateDid(),
    email,
    role,
  ]);
  await pool.query(`INSERT INTO credit_accounts (user_id) VALUES ($1)`, [id]);
  const key = generateVirtualKeySecret();
  await pool.query(
    `INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes, updated_at) VALUES ($1, $2, 'service', $3, $4, $5, now())`,
    [randomUUID(), id, key.slice(0, VIRTUAL_KEY_DISPLAY_LENGTH), hashVirtualKeySecret(key), scopes],
  );
  return { id, email, key };
}

/** Row counts of the tables an import may write. */
export async function tableCounts(pool: Pool): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['users', 'teams', 'api_keys', 'audit_logs', 'credit_accounts']) {
    out[t] = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  }
  return out;
}
