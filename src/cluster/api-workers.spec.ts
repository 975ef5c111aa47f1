import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, MAX_API_WORKERS, parseApiWorkers } from '../config/app-config';
import { RestartPolicy } from './restart-policy';

const VALID = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/tollgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ENCRYPTION_KEYS: 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
  JWT_SECRET: 'a-jwt-secret-of-at-least-32-characters!!',
};

function problems(raw: string | undefined, cpus = 2): { value: number; problems: string[] } {
  const list: string[] = [];
  return { value: parseApiWorkers(raw, cpus, list), problems: list };
}

describe('API_WORKERS', () => {
  it('defaults to 1 (a single process) when unset or empty', () => {
    expect(problems(undefined)).toEqual({ value: 1, problems: [] });
    expect(problems('')).toEqual({ value: 1, problems: [] });
    expect(problems('   ')).toEqual({ value: 1, problems: [] });
    expect(loadConfig(VALID).apiWorkers).toBe(1);
  });

  it('takes an integer from 1 to 64, spaces trimmed', () => {
    expect(problems('1')).toEqual({ value: 1, problems: [] });
    expect(problems(' 2 ')).toEqual({ value: 2, problems: [] });
    expect(problems(String(MAX_API_WORKERS))).toEqual({ value: 64, problems: [] });
    expect(loadConfig({ ...VALID, API_WORKERS: '3' }).apiWorkers).toBe(3);
  });

  it('auto (any case) is the available parallelism, bounded to 1..64', () => {
    expect(problems('auto', 2).value).toBe(2);
    expect(problems('AUTO', 8).value).toBe(8);
    expect(problems('auto', 1).value).toBe(1);
    expect(problems('auto', 0).value).toBe(1);
    expect(problems('auto', 256).value).toBe(64);
    expect(problems('auto', 3).problems).toEqual([]);
    expect(loadConfig({ ...VALID, API_WORKERS: 'auto' }).apiWorkers).toBe(Math.min(64, availableParallelism()));
  });

  it.each(['0', '65', '-1', '1.5', '2e1', 'two', '0x2', '+2', 'auto2'])('refuses %p with a message naming the variable', (raw) => {
    const r = problems(raw);
    expect(r.value).toBe(1);
    expect(r.problems).toEqual([`API_WORKERS must be auto or an integer from 1 to 64 (got "${raw}")`]);
  });

  it('a bad value stops loadConfig with a ConfigError', () => {
    let caught: unknown;
    try {
      loadConfig({ ...VALID, API_WORKERS: 'many' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual(['API_WORKERS must be auto or an integer from 1 to 64 (got "many")']);
    expect((caught as ConfigError).message).toContain('API_WORKERS must be auto or an integer from 1 to 64');
  });
});

describe('RestartPolicy', () => {
  const options = { stableAfterMs: 10_000, maxFastFailures: 3, firstDelayMs: 500, maxDelayMs: 1_500 };

  it('doubles the delay per fast failure in a row, capped, and gives up at the limit', () => {
    const p = new RestartPolicy(options);
    expect(p.onExit(false)).toEqual({ action: 'restart', delayMs: 1_000, fastFailures: 1 });
    expect(p.onExit(false)).toEqual({ action: 'restart', delayMs: 1_500, fastFailures: 2 });
    expect(p.onExit(false)).toEqual({ action: 'give_up', fastFailures: 3 });
  });

  it('a stable worker that dies restarts after the first delay and ends the streak', () => {
    const p = new RestartPolicy(options);
    p.onExit(false);
    p.onExit(false);
    expect(p.streak).toBe(2);
    expect(p.onExit(true)).toEqual({ action: 'restart', delayMs: 500, fastFailures: 0 });
    expect(p.streak).toBe(0);
  });

  it('a worker becoming stable (onStable) ends the streak: old fast failures do not add up to a give-up', () => {
    const p = new RestartPolicy(options);
    p.onExit(false);
    p.onExit(false);
    p.onStable();
    expect(p.onExit(false)).toEqual({ action: 'restart', delayMs: 1_000, fastFailures: 1 });
  });
});
