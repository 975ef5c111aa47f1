import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';

/** The files Swagger UI's page loads (besides swagger-ui-init.js, which @nestjs/swagger serves), by content type. */
export const SWAGGER_UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Serves the SWAGGER_UI_ASSETS files of `root` (swagger-ui-dist) at `GET <prefix>/<file>`, read once
 * and kept in memory (about 1.5 MB); any other name under the prefix answers 404 `not_found`.
 * Used instead of @fastify/static for @nestjs/swagger's static files: a fixed list, no directory
 * walking, and no ESM-only dependency in the api's import graph (the e2e tests load the app under
 * jest, which cannot require an ES module on Node 20).
 */
export function serveSwaggerUiAssets(fastify: FastifyInstance, prefix: string, root: string): void {
  const cache = new Map<string, Buffer>();
  fastify.get<{ Params: { asset: string } }>(`${prefix.replace(/\/+$/, '')}/:asset`, async (req, reply) => {
    const type = Object.hasOwn(SWAGGER_UI_ASSETS, req.params.asset) ? SWAGGER_UI_ASSETS[req.params.asset] : undefined;
    if (!type) {
      return reply.code(404).header('x-request-id', String(req.id)).send({ statusCode: 404, code: 'not_found', message: 'Not found' });
    }
    let body = cache.get(req.params.asset);
    if (!body) {
      body = await fs.promises.readFile(path.join(root, req.params.asset));
      cache.set(req.params.asset, body);
    }
    return reply.header('content-type', type).header('cache-control', 'public, max-age=3600').send(body);
  });
}
