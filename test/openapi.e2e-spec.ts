/**
 * OpenAPI: GET /docs/openapi.json and Swagger UI at GET /docs are public (no credentials, bad
 * credentials ignored), the document holds every route of the live Nest router (method and path
 * in OpenAPI's `{param}` form), each operation states its security as the guard decides it, and
 * the error envelopes of each route family are components (src/openapi/openapi-document.ts).
 */
import request from 'supertest';
import { Harness, startHarness } from './support/gateway-harness';
import { startApiProcess } from './support/api-process';
import { listNestRoutes } from './support/route-table';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  tags?: string[];
  'x-tollgate-auth'?: unknown;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, string>> };
}

/** Nest's `:param` path template in OpenAPI's `{param}` form. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('OpenAPI document and Swagger UI', () => {
  let h: Harness;
  let doc: Document;

  beforeAll(async () => {
    h = await startHarness('openapi');
    const res = await request(h.baseUrl).get('/docs/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toBeTruthy();
    doc = JSON.parse(res.text) as Document;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('describes request bodies and query parameters from the DTOs (types, bounds, required fields), in the build', async () => {
    // The schemas come from @nestjs/swagger's compiler plugin, applied by the build
    // (scripts/build.mjs), not under ts-jest: read the document of a compiled api.
    const built = await startApiProcess({ databaseUrl: h.db.url, label: 'openapi-build' });
    let doc: Document;
    try {
      doc = (await (await fetch(`${built.baseUrl}/docs/openapi.json`)).json()) as Document;
    } finally {
      await built.stop();
    }
    type Schema = { $ref?: string; type?: string; properties?: Record<string, Schema>; required?: string[]; maxLength?: number };
    type Op = Operation & { requestBody?: { content: Record<string, { schema: Schema }> }; parameters?: { name: string; in: string }[] };
    const op = (path: string, method: string) => doc.paths[path][method] as Op;
    const body = (path: string, method: string): Schema => {
      const schema = op(path, method).requestBody?.content['application/json']?.schema ?? {};
      return schema.$ref ? (doc.components.schemas[schema.$ref.split('/').pop()!] as Schema) : schema;
    };
    const login = body('/auth/login', 'post');
    expect(Object.keys(login.properties ?? {}).sort()).toEqual(['login', 'password']);
    expect(login.required).toEqual(expect.arrayContaining(['login', 'password']));
    const createUser = body('/admin/users', 'post');
    expect(createUser.properties?.email?.type).toBe('string');
    expect(createUser.required).toContain('email');
    expect(body('/user/keys', 'post').properties).toHaveProperty('name');
    const listParams = (op('/admin/users', 'get').parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(listParams).toEqual(expect.arrayContaining(['page', 'pageSize', 'search', 'role', 'status', 'sort']));
  });

  it('is an OpenAPI 3 document of Tollgate', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('Tollgate');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('holds every route of the live router, and nothing else', () => {
    const routes = listNestRoutes(h.app);
    expect(routes.length).toBeGreaterThan(40);
    const missing = routes
      .filter((r) => !doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(missing).toEqual([]);
    const known = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
    const extra = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => !known.has(`${m} ${path}`))
        .map((m) => `${m} ${path}`),
    );
    expect(extra).toEqual([]);
  });

  it('states each operation’s security as the guard decides it', () => {
    const routes = listNestRoutes(h.app);
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
      const where = `${r.method} ${r.path}`;
      if (r.guards.includes('VirtualKeyGuard')) expect([where, schemes]).toEqual([where, ['virtualKey']]);
      else if (r.isPublic) expect([where, op.security]).toEqual([where, []]);
      else {
        expect([where, schemes]).toEqual([where, ['apiKey', 'apiKeyHeader', 'jwt']]);
        expect([where, op['x-tollgate-auth']]).toEqual([where, r.rule]);
        expect(op.responses['401']).toBeDefined();
        expect(op.responses['403']).toBeDefined();
      }
    }
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.components.securitySchemes.jwt).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(doc.components.securitySchemes.virtualKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists the error envelope of each route family for 4XX and 5XX', () => {
    const ref = (path: string, method: string, status: string) =>
      doc.paths[path][method].responses[status]?.content?.['application/json']?.schema?.$ref;
    for (const name of ['ManagementError', 'OpenAIError', 'ToieeError', 'LlmConfigError'])
      expect(doc.components.schemas[name]).toBeDefined();
    expect(ref('/v1/chat/completions', 'post', '4XX')).toBe('#/components/schemas/OpenAIError');
    expect(ref('/v1/chat/completions', 'post', '401')).toBe('#/components/schemas/OpenAIError');
    expect(ref('/admin/users', 'get', '4XX')).toBe('#/components/schemas/ManagementError');
    expect(ref('/admin/users', 'get', '5XX')).toBe('#/components/schemas/ManagementError');
    expect(ref('/api/toiee/users', 'post', '4XX')).toBe('#/components/schemas/ToieeError');
    const llmConfig = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/users/'));
    expect(llmConfig.length).toBeGreaterThan(0);
    for (const path of llmConfig)
      for (const method of Object.keys(doc.paths[path]))
        expect([path, ref(path, method, '4XX')]).toEqual([path, '#/components/schemas/LlmConfigError']);
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item)) {
        expect([method, path, Object.keys(op.responses)]).toEqual([method, path, expect.arrayContaining(['4XX', '5XX'])]);
        expect([method, path, op.tags?.length]).toEqual([method, path, 1]);
      }
  });

  it('is served without credentials and ignores bad ones; Swagger UI and its assets load', async () => {
    await request(h.baseUrl).get('/docs/openapi.json').set('authorization', 'Bearer not-a-token').expect(200);
    await request(h.baseUrl).get('/docs/openapi.json').set('x-api-key', 'tg-nothing').expect(200);
    const ui = await request(h.baseUrl).get('/docs').expect(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
    expect(ui.text).toContain('swagger-ui');
    const init = await request(h.baseUrl).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('"openapi"');
    await request(h.baseUrl).get('/docs/swagger-ui-bundle.js').expect(200);
    await request(h.baseUrl).get('/docs/swagger-ui.css').expect(200);
    // no YAML copy, and nothing else under /docs is a route of ours
    await request(h.baseUrl).get('/docs-yaml').expect(404);
    // a documentation read is not an audited request
    const { rows } = await h.prisma.pool.query<{ n: string }>(`SELECT count(*) AS n FROM audit_logs WHERE action LIKE '%/docs%'`);
    expect(Number(rows[0].n)).toBe(0);
  });
});
