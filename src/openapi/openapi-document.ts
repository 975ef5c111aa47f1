/**
 * The OpenAPI 3 document of the api (served at /docs/openapi.json, Swagger UI at /docs; see
 * docs/operations.md "API documentation"). Paths, parameters and bodies come from the Nest
 * controllers through @nestjs/swagger; what every operation needs to be called comes from the
 * same metadata the global guard reads (src/auth/auth.decorators.ts, handler over class), so the
 * document cannot drift from the guard:
 * - @Public without guards: `security: []`;
 * - @Public with VirtualKeyGuard (the /v1 gateway): the `virtualKey` scheme;
 * - @Auth: a login JWT (`jwt`) or an API key (`apiKey`: `Authorization: Bearer tg-…`, or
 *   `apiKeyHeader`: `X-API-Key`), with the rule in `x-tollgate-auth` and in the description.
 * Every operation also lists its family's error envelope (components/schemas) for 4XX and 5XX.
 */
import { INestApplication } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type {
  OperationObject,
  PathItemObject,
  ResponsesObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { AUTH_RULE, AuthRule, IS_PUBLIC } from '../auth/auth.decorators';
import { VirtualKeyGuard } from '../gateway/virtual-key.guard';

/** Names of the security schemes in components.securitySchemes. */
export const SECURITY_SCHEMES = {
  jwt: 'jwt',
  apiKey: 'apiKey',
  apiKeyHeader: 'apiKeyHeader',
  virtualKey: 'virtualKey',
} as const;

/** Error envelope of each route family, by component name (src/common/all-exceptions.filter.ts and the families' own filters). */
export const ERROR_SCHEMAS: Record<string, SchemaObject> = {
  ManagementError: {
    type: 'object',
    description: 'Every route outside /v1 and /api/toiee (docs/README.md "Conventions of the management API"). More fields may follow.',
    required: ['statusCode', 'code', 'message'],
    properties: {
      statusCode: { type: 'integer', example: 404 },
      code: { type: 'string', description: 'machine-readable, stable', example: 'user_not_found' },
      message: { type: 'string' },
      errors: {
        type: 'array',
        description: 'validation_failed only: the fields at fault',
        items: { type: 'object', properties: { field: { type: 'string' }, messages: { type: 'array', items: { type: 'string' } } } },
      },
    },
    additionalProperties: true,
  },
  OpenAIError: {
    type: 'object',
    description: "The /v1 gateway routes, in OpenAI's shape (docs/api/gateway.md).",
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['message', 'type', 'code'],
        properties: {
          message: { type: 'string' },
          type: { type: 'string', example: 'invalid_request_error' },
          param: { type: 'string', nullable: true },
          code: { type: 'string', example: 'invalid_api_key' },
        },
        additionalProperties: true,
      },
    },
  },
  ToieeError: {
    type: 'object',
    description: 'The external user API under /api/toiee (docs/api/toiee-users.md).',
    required: ['success', 'message', 'error'],
    properties: {
      success: { type: 'boolean', enum: [false] },
      message: { type: 'string' },
      error: { type: 'string', example: 'USER_NOT_FOUND' },
    },
  },
  LlmConfigError: {
    type: 'object',
    description: 'The LLM config API under /v1/users (docs/api/llm-config.md).',
    required: ['status', 'error'],
    properties: {
      status: { type: 'string', enum: ['error'] },
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', example: 'USER_NOT_FOUND' },
          message: { type: 'string' },
          details: { type: 'object', additionalProperties: true },
          retry_after: { type: 'integer', description: 'RATE_LIMIT_EXCEEDED only: seconds' },
        },
      },
    },
  },
};

/** The error envelope component of a path: the same rule as the exception filters (by path prefix). */
export function errorSchemaFor(path: string): keyof typeof ERROR_SCHEMAS {
  if (path === '/v1/users' || path.startsWith('/v1/users/')) return 'LlmConfigError';
  if (path.startsWith('/v1/')) return 'OpenAIError';
  if (path === '/api/toiee' || path.startsWith('/api/toiee/')) return 'ToieeError';
  return 'ManagementError';
}

/** Who may call a handler, as the global guard and the gateway's guard decide it. */
export interface HandlerAccess {
  isPublic: boolean;
  rule: AuthRule | undefined;
  virtualKey: boolean;
}

type Handler = (...args: unknown[]) => unknown;

/** Access of every controller handler, keyed `<ControllerClass>_<method>` (@nestjs/swagger's operationId). */
function handlerAccess(app: INestApplication): Map<string, HandlerAccess> {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const out = new Map<string, HandlerAccess>();
  for (const wrapper of discovery.getControllers()) {
    const cls = wrapper.metatype as (abstract new (...args: never[]) => unknown) | undefined;
    if (typeof cls !== 'function') continue;
    const proto = cls.prototype as Record<string, unknown>;
    const classGuards = (Reflect.getMetadata(GUARDS_METADATA, cls) as unknown[] | undefined) ?? [];
    for (const name of scanner.getAllMethodNames(proto)) {
      const fn = proto[name] as Handler;
      const key = `${cls.name}_${name}`;
      if (out.has(key)) throw new Error(`OpenAPI: two controllers are named ${cls.name}; operation ids would collide`);
      const guards = [...classGuards, ...((Reflect.getMetadata(GUARDS_METADATA, fn) as unknown[] | undefined) ?? [])];
      out.set(key, {
        isPublic:
          ((Reflect.getMetadata(IS_PUBLIC, fn) as boolean | undefined) ?? (Reflect.getMetadata(IS_PUBLIC, cls) as boolean | undefined)) ===
          true,
        rule: (Reflect.getMetadata(AUTH_RULE, fn) as AuthRule | undefined) ?? (Reflect.getMetadata(AUTH_RULE, cls) as AuthRule | undefined),
        virtualKey: guards.includes(VirtualKeyGuard),
      });
    }
  }
  return out;
}

/** One sentence saying who may call an operation (docs/roles.md). */
export function describeAccess(access: HandlerAccess): string {
  if (access.virtualKey) return 'Auth: a virtual key, `Authorization: Bearer tg-…` (docs/api/gateway.md).';
  if (access.isPublic) return 'Auth: none (public).';
  const rule = access.rule ?? {};
  const parts = ['Auth: a login JWT, or an API key (`Authorization: Bearer tg-…` or `X-API-Key`)'];
  if (rule.admin === 'super') parts.push('role super_admin');
  else if (rule.admin) parts.push(rule.reads ? 'an admin role' : 'an admin role (super_admin or admin to write)');
  if (rule.scope) parts.push(`API keys need the scope \`${rule.scope}\`${rule.admin ? ' or `admin`' : ''}`);
  else if (rule.admin) parts.push('API keys need the scope `admin`');
  if (rule.ownAccount) parts.push('viewers and accounts that must change their password may call it');
  return `${parts.join('; ')} (docs/roles.md).`;
}

const errorResponse = (schema: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});

/** Sets security, the auth description and the error responses of every operation of `document` (in place). */
export function annotateOperations(document: OpenAPIObject, access: Map<string, HandlerAccess>): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const) {
      const op = (item as PathItemObject)[method] as OperationObject | undefined;
      if (!op) continue;
      const a = op.operationId ? access.get(op.operationId) : undefined;
      if (!a) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} has no known handler (operationId ${op.operationId})`);
      const guarded = a.virtualKey || !a.isPublic;
      op.security = a.virtualKey
        ? [{ [SECURITY_SCHEMES.virtualKey]: [] }]
        : a.isPublic
          ? []
          : [{ [SECURITY_SCHEMES.jwt]: [] }, { [SECURITY_SCHEMES.apiKey]: [] }, { [SECURITY_SCHEMES.apiKeyHeader]: [] }];
      if (!a.isPublic && a.rule) (op as OperationObject & { 'x-tollgate-auth': AuthRule })['x-tollgate-auth'] = a.rule;
      op.description = [op.description, describeAccess(a)].filter(Boolean).join('\n\n');
      const schema = errorSchemaFor(path.replace(/\{[^}]+\}/g, 'x'));
      const responses: ResponsesObject = op.responses ?? {};
      if (guarded) {
        responses['401'] ??= errorResponse(schema, 'No or bad credentials');
        if (!a.virtualKey) responses['403'] ??= errorResponse(schema, 'Role or API key scope missing (docs/roles.md)');
      }
      responses['4XX'] ??= errorResponse(schema, 'Refused: the `code` says why');
      responses['5XX'] ??= errorResponse(schema, "Tollgate's own fault (500) or a dependency away (502/503/504)");
      op.responses = responses;
    }
  }
}

/** Tag of a controller without @ApiTags: its class name without "Controller", in kebab case. */
function defaultTag(operationId: string | undefined): string | undefined {
  const cls = operationId?.split('_')[0];
  if (!cls) return undefined;
  return cls
    .replace(/Controller$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/**
 * Builds the document for a booted (or initialised) api app. Takes a few hundred ms on a
 * cold start, so the app builds it lazily on the first request for it (src/app.factory.ts).
 * @throws Error when an operation cannot be matched to its handler (a programming error).
 */
export function buildOpenApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Tollgate')
    .setDescription(
      'OpenAI-compatible LLM gateway with usage billing. The gateway is under /v1 (virtual keys); the management API ' +
        'takes a login JWT or an API key (docs/api/auth.md). Errors: see components/schemas *Error.',
    )
    .setVersion(version)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A login JWT from POST /auth/login' },
      SECURITY_SCHEMES.jwt,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'tg-…', description: 'An API key (virtual key with scopes) as a bearer token' },
      SECURITY_SCHEMES.apiKey,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (virtual key with scopes)' },
      SECURITY_SCHEMES.apiKeyHeader,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'tg-…', description: 'A virtual key, for the /v1 gateway' },
      SECURITY_SCHEMES.virtualKey,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey}_${methodKey}`,
  });
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...ERROR_SCHEMAS } };
  annotateOperations(document, handlerAccess(app));
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item as Record<string, OperationObject>)) {
      if (op && typeof op === 'object' && 'responses' in op && !op.tags?.length) {
        const tag = defaultTag(op.operationId);
        if (tag) op.tags = [tag];
      }
    }
  }
  return document;
}
