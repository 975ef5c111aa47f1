import { Decimal } from '../common/decimal';
import { DomainError } from '../common/domain-error';

/**
 * The errors of the OpenAI-compatible endpoints. They are DomainErrors like every other error
 * (src/common/domain-error.ts); the global exception filter renders them on /v1/* in OpenAI's shape
 * `{ "error": { "message", "type", "param", "code" } }` (plus `payment_link` on 402), `type`
 * derived from the status (400/401/404 invalid_request_error, 402 insufficient_quota, 403
 * permission_error, 429 rate_limit_error, 5xx server_error) unless set here.
 */
export const GatewayErrors = {
  invalidRequest(message: string, param: string | null = null): DomainError {
    return new DomainError(400, 'invalid_request', message, { param });
  },

  unauthorized(code: string, message: string): DomainError {
    return DomainError.unauthorized(code, message);
  },

  modelNotFound(model: string): DomainError {
    return new DomainError(404, 'model_not_found', `The model '${model}' does not exist or is not enabled`, { param: 'model' });
  },

  modelNotAllowed(model: string): DomainError {
    return new DomainError(403, 'model_not_allowed', `This key is not allowed to use the model '${model}'`, { param: 'model' });
  },

  /**
   * 402: the call's worst case does not fit in the credits not already held. Says how many
   * completion tokens the balance affords, so a client can retry with a lower max_tokens.
   */
  insufficientCredits(
    paymentLink: string | null,
    detail?: { needed: Decimal; affordableCompletionTokens: number; requestedCompletionTokens: number },
  ): DomainError {
    const parts: string[] = [];
    if (detail && detail.affordableCompletionTokens > 0) {
      parts.push(
        `This request needs up to ${detail.needed.toFixed()} credits (${detail.requestedCompletionTokens} completion tokens); ` +
          `your balance affords ${detail.affordableCompletionTokens} completion tokens. Lower max_tokens or add credits.`,
      );
    } else {
      parts.push('Your credit balance is used up (or cannot cover this prompt).');
    }
    if (paymentLink) parts.push(`Buy credits at ${paymentLink}`);
    return new DomainError(402, 'insufficient_credits', parts.join(' '), {
      details: {
        payment_link: paymentLink,
        ...(detail ? { affordable_completion_tokens: detail.affordableCompletionTokens } : {}),
      },
    });
  },

  /** 402 `budget_exceeded`: the key has spent its credit budget (docs/api/keys.md "Credit budget"). */
  budgetExceeded(): DomainError {
    return new DomainError(
      402,
      'budget_exceeded',
      "This API key has spent its credit budget; raise the key's creditBudget or use another key",
    );
  },

  /** 429: this key or user already has its maximum of calls in flight on this api process. */
  tooManyConcurrent(limit: 'key' | 'user', max: number): DomainError {
    return new DomainError(
      429,
      'too_many_concurrent_requests',
      `This ${limit === 'key' ? 'API key' : 'account'} already has ${max} requests in flight; wait for one to finish`,
      { headers: { 'retry-after': '1' } },
    );
  },

  /**
   * 429 `rate_limit_exceeded`: over the key's or the user's requests or tokens per minute
   * (docs/rate-limits.md); `headers` are the x-ratelimit-* figures and Retry-After (seconds).
   */
  rateLimited(message: string, headers: Record<string, string>): DomainError {
    return new DomainError(429, 'rate_limit_exceeded', message, { headers });
  },

  /** 503 `rate_limit_unavailable`: Redis did not answer the rate limit check and RATE_LIMIT_REDIS_FAILURE_POLICY is closed. */
  rateLimiterUnavailable(): DomainError {
    return DomainError.unavailable('rate_limit_unavailable', 'Rate limiting is unavailable right now; retry shortly', { retryAfter: 1 });
  },

  /** 503: a dependency (the database) is unreachable; nothing was sent upstream or billed. */
  unavailable(message: string): DomainError {
    return DomainError.unavailable('service_unavailable', message, { retryAfter: 1 });
  },

  /** 503 `record_failed`: the call's record is nowhere durable, so its answer is not sent. */
  recordFailed(): DomainError {
    return DomainError.unavailable('record_failed', 'The call could not be recorded; retry shortly', { retryAfter: 1 });
  },

  /** The provider failed (502 by default; 503 no credential; 499 the client left): type `upstream_error`. */
  upstream(code: string, message: string, status = 502): DomainError {
    return new DomainError(status, code, message, { type: 'upstream_error' });
  },

  /** A provider's own 4xx, relayed with its type, code and param (and Retry-After on 429). */
  relayed(
    status: number,
    error: { type: string; code: string; message: string; param: string | null },
    headers: Record<string, string>,
  ): DomainError {
    return new DomainError(status, error.code, error.message, { type: error.type, param: error.param, headers });
  },
};
