import * as fs from 'node:fs';
import * as path from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument } from './openapi-document';
import { serveSwaggerUiAssets } from './swagger-ui-assets';

/** Where Swagger UI is served; the document is at `${OPENAPI_UI_PATH}/openapi.json`. */
export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = `${OPENAPI_UI_PATH}/openapi.json`;

/** `version` of the nearest package.json above `startDir` (works from src/ and dist/src/); '0.0.0' if none. */
export function packageVersion(startDir: string = __dirname): string {
  for (let dir = path.resolve(startDir); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

/**
 * Serves Swagger UI at GET /docs and the OpenAPI 3 document at GET /docs/openapi.json, both public
 * (routes on the Fastify instance, outside Nest's guards; no YAML copy). The document is built on
 * the first request for it, not at boot, and kept. The UI's static files come from
 * serveSwaggerUiAssets (src/openapi/swagger-ui-assets.ts), which @nestjs/swagger reaches through
 * `useStaticAssets`. Call before app.init().
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const version = packageVersion();
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const withOwnAssets = new Proxy(app, {
    get(target, prop) {
      if (prop === 'useStaticAssets') {
        return (opts: { root: string; prefix: string }) => {
          serveSwaggerUiAssets(fastify, opts.prefix, opts.root);
          return target;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  SwaggerModule.setup(OPENAPI_UI_PATH, withOwnAssets, () => buildOpenApiDocument(app, version), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Tollgate API',
  });
}
