import type { Pool, PoolClient } from 'pg';
import { withPoolTransaction } from './pool-transaction';

function fakePool(...failOn: string[]) {
  const statements: string[] = [];
  let released = 0;
  const client = {
    query: jest.fn(async (text: string) => {
      statements.push(text);
      if (failOn.includes(text)) throw new Error(`${text} failed`);
      return { rows: [], rowCount: 0 };
    }),
    release: jest.fn(() => {
      released++;
    }),
  } as unknown as PoolClient;
  const pool = { connect: jest.fn(async () => client) } as unknown as Pool;
  return { pool, client, statements, released: () => released };
}

describe('withPoolTransaction', () => {
  it('runs the work between BEGIN and COMMIT on one connection and returns its result', async () => {
    const p = fakePool();
    const out = await withPoolTransaction(p.pool, async (c) => {
      expect(c).toBe(p.client);
      await c.query('SELECT 1');
      return 42;
    });
    expect(out).toBe(42);
    expect(p.statements).toEqual(['BEGIN', 'SELECT 1', 'COMMIT']);
    expect(p.released()).toBe(1);
  });

  it('rolls back and rethrows when the work fails', async () => {
    const p = fakePool('SELECT 1');
    await expect(withPoolTransaction(p.pool, (c) => c.query('SELECT 1'))).rejects.toThrow('SELECT 1 failed');
    expect(p.statements).toEqual(['BEGIN', 'SELECT 1', 'ROLLBACK']);
    expect(p.released()).toBe(1);
  });

  it('rolls back when COMMIT fails, and keeps the original error if ROLLBACK fails too', async () => {
    const p = fakePool('COMMIT', 'ROLLBACK');
    await expect(withPoolTransaction(p.pool, async () => 1)).rejects.toThrow('COMMIT failed');
    expect(p.statements).toEqual(['BEGIN', 'COMMIT', 'ROLLBACK']);
    expect(p.released()).toBe(1);
  });
});
