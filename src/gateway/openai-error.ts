import { Decimal } from '../common/decimal';

/**
 * Errors of the OpenAI-compatible endpoints, in OpenAI's shape:
 * `{ "error": { "message", "type", "param", "code" } }` (plus `payment_link` on 402).
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  static invalidRequest(message: string, param: string | null = null): GatewayError {
    return new GatewayError(400, 'invalid_request_error', 'invalid_request', message, param);
  }

  static unauthorized(code: string, message: string): GatewayError {
    return new GatewayError(401, 'invalid_request_error', code, message);
  }

  static modelNotFound(model: string): GatewayError {
    return new GatewayError(404, 'invalid_request_error', 'model_not_found', `The model '${model}' does not exist or is not enabled`, 'model');
  }

  static modelNotAllowed(model: string): GatewayError {
    return new GatewayError(403, 'permission_error', 'model_not_allowed', `This key is not allowed to use the model '${model}'`, 'model');
  }

  /**
   * 402: the call's worst case does not fit in the credits not already held. Says how many
   * completion tokens the balance affords, so a client can retry with a lower max_tokens.
   */
  static insufficientCredits(
    paymentLink: string | null,
    detail?: { needed: Decimal; affordableCompletionTokens: number; requestedCompletionTokens: number },
  ): GatewayError {
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
    return new GatewayError(402, 'insufficient_quota', 'insufficient_credits', parts.join(' '), null, {
      payment_link: paymentLink,
      ...(detail ? { affordable_completion_tokens: detail.affordableCompletionTokens } : {}),
    });
  }

  /** 429: this key or user already has its maximum of calls in flight on this api process. */
  static tooManyConcurrent(limit: 'key' | 'user', max: number): GatewayError {
    return new GatewayError(
      429,
      'rate_limit_error',
      'too_many_concurrent_requests',
      `This ${limit === 'key' ? 'API key' : 'account'} already has ${max} requests in flight; wait for one to finish`,
      null,
      {},
      { 'retry-after': '1' },
    );
  }

  /** 503: a dependency (the database) is unreachable; nothing was sent upstream or billed. */
  static unavailable(message: string): GatewayError {
    return new GatewayError(503, 'server_error', 'service_unavailable', message, null, {}, { 'retry-after': '1' });
  }

  static upstream(code: string, message: string, status = 502): GatewayError {
    return new GatewayError(status, 'upstream_error', code, message);
  }
}
