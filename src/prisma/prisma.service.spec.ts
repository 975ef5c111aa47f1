import { loadConfig } from '../config/app-config';
import { PrismaService } from './prisma.service';

const ENV = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/tollgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ENCRYPTION_KEYS: 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
  JWT_SECRET: 'a-jwt-secret-that-is-long-enough-0123456789',
};

/** The pool's sizing as configured (no connection is opened: the pool connects on first use). */
function poolOptions(env: Record<string, string>): { max: number; min: number } {
  const prisma = new PrismaService(loadConfig({ ...ENV, ...env }));
  const { max, min } = (prisma.pool as unknown as { options: { max: number; min: number } }).options;
  void prisma.pool.end();
  return { max, min };
}

describe('PrismaService pool', () => {
  it('keeps DATABASE_POOL_MIN connections (default: the whole pool) open while idle', () => {
    expect(poolOptions({ DATABASE_POOL_SIZE: '12' })).toEqual({ max: 12, min: 12 });
    expect(poolOptions({ DATABASE_POOL_SIZE: '12', DATABASE_POOL_MIN: '3' })).toEqual({ max: 12, min: 3 });
  });
});
