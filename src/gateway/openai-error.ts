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

  body(): { error: Record<string, unknown> } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code, ...this.extra } };
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

  static insufficientCredits(paymentLink: string | null): GatewayError {
    return new GatewayError(
      402,
      'insufficient_quota',
      'insufficient_credits',
      paymentLink ? `Your credit balance is used up. Buy credits at ${paymentLink}` : 'Your credit balance is used up',
      null,
      { payment_link: paymentLink },
    );
  }

  static upstream(code: string, message: string, status = 502): GatewayError {
    return new GatewayError(status, 'upstream_error', code, message);
  }
}
