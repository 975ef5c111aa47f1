import { ConfigError, DEV_ONLY_SECRETS, loadConfig } from './app-config';

const VALID = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/tollgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ENCRYPTION_KEYS: 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
  JWT_SECRET: 'a-jwt-secret-that-is-long-enough-0123456789',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
}

describe('loadConfig', () => {
  it('accepts a valid environment and applies defaults', () => {
    const c = loadConfig(VALID);
    expect(c).toMatchObject({ nodeEnv: 'development', port: 3000, credit: { billingEnabled: true, paymentLink: null } });
    expect(c.encryptionKeys[0].id).toBe('k1');
    expect(c.encryptionKeys[0].key).toHaveLength(32);
  });

  it('keeps the whole pool open while idle unless DATABASE_POOL_MIN says less; never more than the pool', () => {
    expect(loadConfig(VALID)).toMatchObject({ databasePoolSize: 10, databasePoolMin: 10 });
    expect(loadConfig({ ...VALID, DATABASE_POOL_SIZE: '20' })).toMatchObject({ databasePoolSize: 20, databasePoolMin: 20 });
    expect(loadConfig({ ...VALID, DATABASE_POOL_SIZE: '20', DATABASE_POOL_MIN: '0' })).toMatchObject({ databasePoolMin: 0 });
    expect(problems({ ...VALID, DATABASE_POOL_SIZE: '5', DATABASE_POOL_MIN: '6' })).toEqual([
      'DATABASE_POOL_MIN must be an integer from 0 to 5 (got "6")',
    ]);
  });

  it('names every missing variable', () => {
    expect(problems({})).toEqual(
      expect.arrayContaining([
        'DATABASE_URL is required',
        'REDIS_URL is required',
        'ENCRYPTION_KEYS is required',
        'JWT_SECRET is required',
      ]),
    );
  });

  it('names malformed values without echoing secrets', () => {
    const p = problems({
      ...VALID,
      DATABASE_URL: 'mysql://x',
      PORT: 'abc',
      ENCRYPTION_KEYS: 'k1:c2hvcnQ=',
      JWT_SECRET: 'short-secret-value',
      CREDIT_BILLING_ENABLED: 'maybe',
    });
    expect(p.join('\n')).toMatch(/DATABASE_URL must be a postgres: or postgresql: URL/);
    expect(p.join('\n')).toMatch(/PORT must be an integer/);
    expect(p.join('\n')).toMatch(/ENCRYPTION_KEYS must be/);
    expect(p.join('\n')).toMatch(/JWT_SECRET must be at least 32/);
    expect(p.join('\n')).toMatch(/CREDIT_BILLING_ENABLED must be true or false/);
    expect(p.join('\n')).not.toContain('short-secret-value');
  });

  it('refuses the sample secrets in production only', () => {
    const sample = { ...VALID, JWT_SECRET: DEV_ONLY_SECRETS[0], ENCRYPTION_KEYS: DEV_ONLY_SECRETS[1] };
    expect(problems(sample)).toEqual([]);
    expect(problems({ ...sample, NODE_ENV: 'production' })).toEqual([
      'JWT_SECRET is the sample value; set a secret of your own in production',
      'ENCRYPTION_KEYS contains the sample key; generate your own in production',
    ]);
  });
});
