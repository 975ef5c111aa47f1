import { RuleState } from './rate-limit.service';

/**
 * A duration as OpenAI writes it in `x-ratelimit-reset-*` (Go's duration format): "250ms", "1s",
 * "8.64s", "6m0s", "1h0m0s". Rounded up to the millisecond below one second, else to 10 ms.
 */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const centis = Math.ceil(total / 10);
  const h = Math.floor(centis / 360_000);
  const m = Math.floor((centis % 360_000) / 6000);
  const s = (centis % 6000) / 100;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(2).replace(/0$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

/** `Retry-After` (whole seconds, at least 1) for a wait in ms. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The rule that binds tightest: the fewest remaining, then the latest reset. Undefined for no rules.
 */
export function tightest(states: readonly RuleState[]): RuleState | undefined {
  let best: RuleState | undefined;
  for (const s of states) {
    if (!best || s.remaining < best.remaining || (s.remaining === best.remaining && s.resetMs > best.resetMs)) best = s;
  }
  return best;
}

/**
 * OpenAI's rate-limit headers for the gateway (docs/rate-limits.md "Headers"): for requests and
 * for tokens, the tightest rule's `x-ratelimit-limit-*`, `x-ratelimit-remaining-*` and
 * `x-ratelimit-reset-*` (a duration, formatResetDuration). A kind without a rule sends none.
 */
export function openAiRateLimitHeaders(states: readonly RuleState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const kinds: [string, RuleState | undefined][] = [
    ['requests', tightest(states.filter((s) => s.rule.cost > 0))],
    ['tokens', tightest(states.filter((s) => s.rule.cost === 0))],
  ];
  for (const [kind, s] of kinds) {
    if (!s) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(s.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(s.remaining);
    headers[`x-ratelimit-reset-${kind}`] = formatResetDuration(s.resetMs);
  }
  return headers;
}

/**
 * The management API's rate-limit headers (docs/rate-limits.md "LLM config API"): the tightest
 * rule's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds when
 * its window is empty again, rounded up).
 */
export function apiRateLimitHeaders(states: readonly RuleState[], nowMs: number): Record<string, string> {
  const s = tightest(states);
  if (!s) return {};
  return {
    'x-ratelimit-limit': String(s.limit),
    'x-ratelimit-remaining': String(s.remaining),
    'x-ratelimit-reset': String(Math.ceil((nowMs + s.resetMs) / 1000)),
  };
}
