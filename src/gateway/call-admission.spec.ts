import { Decimal } from '../common/decimal';
import { ModelRoute } from '../providers/catalog.service';
import { affordableCompletionTokens, isModelAllowed } from './call-admission.service';

function route(provider: string, model: string, inputRate = '0', outputRate = '0'): ModelRoute {
  return {
    provider: { id: `${provider}-id`, name: provider, displayName: provider, baseUrl: 'http://127.0.0.1:1/v1', credentials: [] },
    model,
    type: 'chatCompletion',
    inputRate: new Decimal(inputRate),
    outputRate: new Decimal(outputRate),
    rateId: 'rate-id',
  };
}

/** Decimal with enough precision that the products and sums below are exact. */
const Exact = Decimal.clone({ precision: 200 });

/** Credits for `prompt` and `completion` tokens at the route's rates, exact (unrounded). */
function exactCost(r: ModelRoute, prompt: number, completion: number): Decimal {
  return new Exact(r.inputRate.toFixed()).mul(prompt).add(new Exact(r.outputRate.toFixed()).mul(completion));
}

/** The hold the gateway takes for `completion` tokens (CallAdmissionService.holdAmount), computed exactly. */
function exactHold(r: ModelRoute, prompt: number, completion: number): Decimal {
  return exactCost(r, prompt, completion).toDecimalPlaces(10, Decimal.ROUND_HALF_UP);
}

describe('isModelAllowed', () => {
  const gpt = route('openai', 'gpt-4o');

  it('allows every model when the list is empty', () => {
    expect(isModelAllowed([], gpt)).toBe(true);
  });

  it('matches "*", the bare model name, "provider/model" and "provider/*"', () => {
    expect(isModelAllowed(['*'], gpt)).toBe(true);
    expect(isModelAllowed(['gpt-4o'], gpt)).toBe(true);
    expect(isModelAllowed(['openai/gpt-4o'], gpt)).toBe(true);
    expect(isModelAllowed(['openai/*'], gpt)).toBe(true);
    expect(isModelAllowed(['other', 'openai/*'], gpt)).toBe(true);
  });

  it('refuses other models, other providers and partial matches', () => {
    expect(isModelAllowed(['gpt-4o-mini'], gpt)).toBe(false);
    expect(isModelAllowed(['gpt-4'], gpt)).toBe(false);
    expect(isModelAllowed(['deepseek/gpt-4o'], gpt)).toBe(false);
    expect(isModelAllowed(['deepseek/*'], gpt)).toBe(false);
    expect(isModelAllowed(['openai'], gpt)).toBe(false);
    expect(isModelAllowed(['openai/'], gpt)).toBe(false);
    expect(isModelAllowed(['gpt-*'], gpt)).toBe(false); // no globbing inside names
    expect(isModelAllowed(['*/gpt-4o'], gpt)).toBe(false);
    expect(isModelAllowed(['GPT-4O'], gpt)).toBe(false); // case-sensitive
  });

  it('matches a model name that contains a slash only as written', () => {
    const nested = route('openrouter', 'meta/llama-3');
    expect(isModelAllowed(['meta/llama-3'], nested)).toBe(true);
    expect(isModelAllowed(['openrouter/meta/llama-3'], nested)).toBe(true);
    expect(isModelAllowed(['openrouter/*'], nested)).toBe(true);
    expect(isModelAllowed(['meta/*'], nested)).toBe(false);
  });
});

describe('affordableCompletionTokens', () => {
  it('is floor((free − prompt cost) / output rate), leaving room for the hold rounding', () => {
    const r = route('p', 'm', '0.5', '1.5');
    // 100 prompt tokens cost 50; 100 credits free leave 50 → 33 tokens (33.33…)
    expect(affordableCompletionTokens(r, 100, new Decimal(100))).toBe(33);
    // 34 tokens need 50 + 1.5 × 34 = 101: not with 100.9, nor with exactly 101 (the 1e-10 margin for
    // the hold's rounding); 1e-10 more and they fit
    expect(affordableCompletionTokens(r, 100, new Decimal('100.9'))).toBe(33);
    expect(affordableCompletionTokens(r, 100, new Decimal('101'))).toBe(33);
    expect(affordableCompletionTokens(r, 100, new Decimal('101.0000000001'))).toBe(34);
    expect(affordableCompletionTokens(r, 100, new Decimal('101.0000000002'))).toBe(34);
  });

  it('computes in exact decimals where binary floating point is off', () => {
    // 0.3 − 0.1 × 2 = 0.1 exactly; float: 0.3 − 0.2 = 0.09999999999999998
    expect(0.3 - 0.1 * 2).not.toBe(0.1);
    const r = route('p', 'm', '0.1', '0.00001');
    // (0.1 − 1e-10) / 0.00001 = 9999.99999 → 9999
    expect(affordableCompletionTokens(r, 2, new Decimal('0.3'))).toBe(9999);
    // one more ten-billionth of a credit pays for the 10,000th token
    expect(affordableCompletionTokens(r, 2, new Decimal('0.3000000001'))).toBe(10000);
    // tiny rates: 1e-18 credits per token, 1e-10 free → 0 (the margin eats it); 2e-10 → 1e8
    const micro = route('p', 'm', '0', '0.000000000000000001');
    expect(affordableCompletionTokens(micro, 0, new Decimal('0.0000000001'))).toBe(0);
    expect(affordableCompletionTokens(micro, 0, new Decimal('0.0000000002'))).toBe(100_000_000);
  });

  it('is 0 when the prompt alone does not fit (or uses up the credits exactly)', () => {
    const r = route('p', 'm', '0.5', '1.5');
    expect(affordableCompletionTokens(r, 1000, new Decimal(100))).toBe(0);
    expect(affordableCompletionTokens(r, 200, new Decimal(100))).toBe(0); // exactly used up
    expect(affordableCompletionTokens(r, 10, new Decimal(0))).toBe(0);
    expect(affordableCompletionTokens(r, 10, new Decimal(-5))).toBe(0); // in the red
    // a prompt that fits but leaves less than one token's price
    expect(affordableCompletionTokens(r, 199, new Decimal(100))).toBe(0); // 0.5 left, 1.5 a token
  });

  it('affords any number of tokens at a free output rate once the prompt fits', () => {
    const free = route('p', 'm', '0.5', '0');
    expect(affordableCompletionTokens(free, 100, new Decimal('50.0000000001'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(affordableCompletionTokens(free, 100, new Decimal(50))).toBe(0); // the prompt uses it all
    expect(affordableCompletionTokens(free, 100, new Decimal(10))).toBe(0);
    // free input and output: any positive balance, but not zero
    const gratis = route('p', 'm', '0', '0');
    expect(affordableCompletionTokens(gratis, 1_000_000, new Decimal('0.0000000001'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(affordableCompletionTokens(gratis, 1_000_000, new Decimal(0))).toBe(0);
  });

  it('caps at Number.MAX_SAFE_INTEGER for huge balances at tiny rates', () => {
    const r = route('p', 'm', '0', '0.000000000000000001');
    expect(affordableCompletionTokens(r, 0, new Decimal('1000000000'))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('never affords more than the balance pays for (the retried hold fits), and leaves less than one token plus the margin unused', () => {
    // Deterministic pseudo-random cases (LCG); rates with up to 18 decimals like numeric(38,18).
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
    const margin = new Decimal('1e-10');
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      const r = route('p', 'm', `0.${digits(18)}`, `0.${'0'.repeat(Math.floor(next() * 6))}${digits(12)}`);
      if (r.outputRate.lte(0)) continue;
      const prompt = Math.floor(next() * 100_000);
      const free = new Decimal(`${Math.floor(next() * 100_000)}.${digits(10)}`);
      const n = affordableCompletionTokens(r, prompt, free);
      if (exactCost(r, prompt, 0).gte(free)) {
        expect(n).toBe(0);
        continue;
      }
      checked++;
      expect(Number.isSafeInteger(n)).toBe(true);
      if (n > 0) expect(exactHold(r, prompt, n).lte(free)).toBe(true);
      expect(exactCost(r, prompt, n + 1).gt(free.sub(margin))).toBe(true);
    }
    expect(checked).toBeGreaterThan(100);
  });
});
