/** What a DomainError carries besides status, code and message. */
export interface DomainErrorOptions {
  /** more body fields, after `message` (`errors`, `providerIds`, `payment_link`…) */
  details?: Record<string, unknown>;
  /** response headers (`retry-after`…) */
  headers?: Record<string, string>;
  /** OpenAI's error `type`, on /v1 routes only; derived from the status when absent (openAiType) */
  type?: string;
  /** OpenAI's error `param`, on /v1 routes only: the request field at fault */
  param?: string | null;
}

/**
 * The one error a request can fail with on purpose: an HTTP status, a machine-readable `code`
 * (stable; clients branch on it), a `message` for people, and optionally more body fields and
 * headers. Services and guards throw it; the global exception filter
 * (src/common/all-exceptions.filter.ts) renders it once, in the shape of the route's family
 * (docs/api-conventions.md, "Errors"):
 * - `/v1/*`: `{"error": {message, type, param, code, ...details}}` (OpenAI's shape);
 * - every other route: `{statusCode, code, message, ...details}`.
 *
 * It is not a Nest HttpException: nothing below the filter depends on the HTTP framework.
 */
export class DomainError extends Error {
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly type: string | undefined;
  readonly param: string | null;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
    this.type = options.type;
    this.param = options.param ?? null;
  }

  /** 400 with a code of its own (`invalid_credential`, `rate_out_of_range`…). */
  static badRequest(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(400, code, message, { details });
  }

  /** 400 `validation_failed` naming one field, as DTO validation answers: `errors: [{field, messages}]`. */
  static validationFailed(field: string, message: string): DomainError {
    return new DomainError(400, 'validation_failed', message, { details: { errors: [{ field, messages: [message] }] } });
  }

  static unauthorized(code: string, message: string): DomainError {
    return new DomainError(401, code, message);
  }

  static forbidden(code: string, message: string): DomainError {
    return new DomainError(403, code, message);
  }

  static notFound(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(404, code, message, { details });
  }

  static conflict(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(409, code, message, { details });
  }

  /** 500 raised on purpose (a known failure, e.g. a job that failed): logged without a stack. */
  static internal(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(500, code, message, { details });
  }

  /** 502: a dependency outside Tollgate (a provider) failed or refused. */
  static badGateway(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(502, code, message, { details });
  }

  /** 503: something Tollgate needs is away; `retryAfter` seconds become `Retry-After` when given. */
  static unavailable(code: string, message: string, options: { details?: Record<string, unknown>; retryAfter?: number } = {}): DomainError {
    const headers: Record<string, string> = options.retryAfter === undefined ? {} : { 'retry-after': String(options.retryAfter) };
    return new DomainError(503, code, message, { details: options.details, headers });
  }

  /** 504: the work goes on but the answer did not come in time. */
  static gatewayTimeout(code: string, message: string, details?: Record<string, unknown>): DomainError {
    return new DomainError(504, code, message, { details });
  }
}
