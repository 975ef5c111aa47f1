import { apiRateLimitHeaders, formatResetDuration, openAiRateLimitHeaders, retryAfterSeconds, tightest } from './rate-limit-headers';
import { RateLimitRule, RuleState } from './rate-limit.service';

function state(rule: Partial<RateLimitRule>, figures: Partial<RuleState>): RuleState {
  return {
    rule: { scope: 'key_requests', id: 'k', windowMs: 60_000, limit: 10, cost: 1, ...rule },
    admits: true,
    limit: 10,
    remaining: 5,
    resetMs: 1000,
    retryMs: 0,
    ...figures,
  };
}

describe('formatResetDuration (OpenAI x-ratelimit-reset-* format)', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [999, '999ms'],
    [1000, '1s'],
    [8640, '8.64s'],
    [8600, '8.6s'],
    [59_990, '59.99s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [86_400, '1m26.4s'],
    [3_600_000, '1h0m0s'],
    [120_001, '2m0.01s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });

  it('rounds a fraction of a millisecond up and never goes negative', () => {
    expect(formatResetDuration(0.2)).toBe('1ms');
    expect(formatResetDuration(-5)).toBe('0ms');
  });
});

describe('retryAfterSeconds', () => {
  it('is whole seconds rounded up, at least 1', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});

describe('tightest', () => {
  it('takes the fewest remaining, then the latest reset', () => {
    const a = state({ scope: 'key_requests' }, { remaining: 3, resetMs: 10 });
    const b = state({ scope: 'user_requests' }, { remaining: 2, resetMs: 5 });
    const c = state({ scope: 'llm_config_hour' }, { remaining: 2, resetMs: 50 });
    expect(tightest([a, b, c])).toBe(c);
    expect(tightest([a])).toBe(a);
    expect(tightest([])).toBeUndefined();
  });
});

describe('openAiRateLimitHeaders', () => {
  it('sends the tightest request rule and the tightest token rule', () => {
    const headers = openAiRateLimitHeaders([
      state({ scope: 'key_requests', cost: 1 }, { limit: 60, remaining: 10, resetMs: 1000 }),
      state({ scope: 'user_requests', cost: 1 }, { limit: 100, remaining: 7, resetMs: 2500 }),
      state({ scope: 'key_tokens', cost: 0 }, { limit: 1000, remaining: 400, resetMs: 360_000 }),
    ]);
    expect(headers).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '7',
      'x-ratelimit-reset-requests': '2.5s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '400',
      'x-ratelimit-reset-tokens': '6m0s',
    });
  });

  it('sends nothing for a kind without a rule', () => {
    expect(openAiRateLimitHeaders([state({ cost: 0, scope: 'user_tokens' }, {})])).not.toHaveProperty('x-ratelimit-limit-requests');
    expect(openAiRateLimitHeaders([])).toEqual({});
  });
});

describe('apiRateLimitHeaders', () => {
  it('gives the tighter rule, its reset as Unix seconds rounded up', () => {
    const minute = state({ scope: 'llm_config_minute' }, { limit: 60, remaining: 59, resetMs: 120_000 });
    const hour = state({ scope: 'llm_config_hour' }, { limit: 1000, remaining: 4, resetMs: 7_200_000 });
    expect(apiRateLimitHeaders([minute, hour], 1_700_000_000_500)).toEqual({
      'x-ratelimit-limit': '1000',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': String(1_700_000_000 + 7201),
    });
  });
});
