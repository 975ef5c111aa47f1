/**
 * The live route table of a booted api app, for tests that must cover every route, including
 * routes added after the test was written (test/role-matrix.e2e-spec.ts).
 *
 * Two independent sources:
 * - Nest: every controller found by DiscoveryService, every handler found by MetadataScanner,
 *   its method and path from PATH_METADATA / METHOD_METADATA, and the access metadata the global
 *   guard reads (IS_PUBLIC, AUTH_RULE from src/auth/auth.decorators.ts; handler over class, as
 *   src/auth/auth.guard.ts does) plus the guards attached with @UseGuards;
 * - Fastify: the router's own table (printRoutes), which also holds routes registered on the
 *   Fastify instance directly, outside Nest and therefore outside its guards.
 * `compareWithFastify` reports what one has and the other lacks, so no route escapes.
 */
import { randomUUID } from 'node:crypto';
import { INestApplication, RequestMethod } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AUTH_RULE, AuthRule, IS_PUBLIC } from '../../src/auth/auth.decorators';

/** One (method, path) the api serves through a Nest handler. */
export interface NestRoute {
  /** upper-case HTTP method: GET, POST, PUT, PATCH, DELETE… */
  method: string;
  /** path template as registered, e.g. `/ai-providers/:providerId/credentials/:credentialId` */
  path: string;
  /** controller class name */
  controller: string;
  /** handler method name */
  handler: string;
  /** @Public on the handler or its controller */
  isPublic: boolean;
  /** the effective @Auth rule (the handler's, else the controller's); undefined without @Auth */
  rule: AuthRule | undefined;
  /** names of the guards attached with @UseGuards (controller then handler) */
  guards: string[];
}

/** One (method, path) in Fastify's router. */
export interface FastifyRoute {
  method: string;
  path: string;
}

/** Methods a RequestMethod.ALL handler answers (what the matrix sends to it). */
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Nest's own joining (core/router/route-path-factory.js): one slash between parts, none at the end. */
function joinPath(...parts: string[]): string {
  const joined = parts
    .filter((p) => p !== '' && p !== '/')
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .join('/');
  return `/${joined}`;
}

function guardName(g: unknown): string {
  if (typeof g === 'function') return g.name;
  if (g && typeof g === 'object') return (g as object).constructor.name;
  return String(g);
}

/**
 * Every route of the app's Nest controllers, sorted by path then method.
 * A handler with several paths or the ALL method yields one entry per (method, path).
 */
export function listNestRoutes(app: INestApplication): NestRoute[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const out = new Map<string, NestRoute>();
  for (const wrapper of discovery.getControllers()) {
    const cls = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
    if (!cls || typeof cls !== 'function') continue;
    const proto = cls.prototype as object;
    const ctrlPaths = asArray<string>(Reflect.getMetadata(PATH_METADATA, cls) as string | string[] | undefined);
    const classPublic = Reflect.getMetadata(IS_PUBLIC, cls) as boolean | undefined;
    const classRule = Reflect.getMetadata(AUTH_RULE, cls) as AuthRule | undefined;
    const classGuards = asArray(Reflect.getMetadata(GUARDS_METADATA, cls) as unknown[] | undefined);
    for (const name of scanner.getAllMethodNames(proto)) {
      const fn = (proto as Record<string, unknown>)[name];
      if (typeof fn !== 'function') continue;
      const methodPaths = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
      const requestMethod = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
      if (methodPaths === undefined || requestMethod === undefined) continue;
      const methods = requestMethod === RequestMethod.ALL ? ALL_METHODS : [RequestMethod[requestMethod]];
      const handlerPublic = Reflect.getMetadata(IS_PUBLIC, fn) as boolean | undefined;
      const handlerRule = Reflect.getMetadata(AUTH_RULE, fn) as AuthRule | undefined;
      const guards = [...classGuards, ...asArray(Reflect.getMetadata(GUARDS_METADATA, fn) as unknown[] | undefined)].map(guardName);
      for (const cp of ctrlPaths.length ? ctrlPaths : ['']) {
        for (const mp of asArray(methodPaths)) {
          for (const method of methods) {
            const path = joinPath(cp, mp);
            out.set(`${method} ${path}`, {
              method,
              path,
              controller: cls.name,
              handler: name,
              isPublic: (handlerPublic ?? classPublic) === true,
              rule: handlerRule ?? classRule,
              guards,
            });
          }
        }
      }
    }
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/**
 * Every (method, path) in Fastify's router, parsed from `printRoutes({commonPrefix: false})`
 * (a tree whose node labels concatenate to the full path; `(GET, HEAD)` after a label lists the
 * methods of that path). A parameter position used with different names by different routes is
 * printed as `:a|:b`: compare paths with `routeShape`.
 */
export function listFastifyRoutes(app: NestFastifyApplication): FastifyRoute[] {
  const printed = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out: FastifyRoute[] = [];
  for (const line of printed.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*)$/.exec(line);
    let label: string;
    let rest: string;
    if (m) {
      const depth = m[1].length / 4;
      stack.length = depth;
      const labelled = /^(.*?)((?: \([A-Z, ]+\)(?: \{.*\})?)?)$/.exec(m[2])!;
      label = labelled[1];
      rest = labelled[2];
      stack.push(label);
    } else {
      // a further route group of the node above (other constraints): `   (POST) {…}`
      const more = /^[│ ]*( \([A-Z, ]+\).*)$/.exec(line);
      if (!more || stack.length === 0) continue;
      rest = more[1];
    }
    const methods = /\(([A-Z, ]+)\)/.exec(rest);
    if (!methods) continue;
    const path = stack.join('');
    for (const method of methods[1].split(',').map((s) => s.trim())) out.push({ method, path });
  }
  return out;
}

/** A path with every parameter reduced to `:` (and `:a|:b` alternatives to one), for comparing. */
export function routeShape(path: string): string {
  return path.replace(/:[^/]+/g, ':');
}

/**
 * The one prefix registered on the Fastify instance on purpose, outside Nest and its guards:
 * Swagger UI and the OpenAPI document (src/openapi/openapi-setup.ts), public by design and
 * tested in test/openapi.e2e-spec.ts.
 */
export const DOCUMENTATION_PREFIX = '/docs';

/** The console's static files (src/console/console-static.ts): public by design, tested in test/console-static.e2e-spec.ts. */
export const CONSOLE_PREFIX = '/console';

/**
 * Routes present in one table but not in the other. Fastify's automatic HEAD routes (one per
 * GET), the documentation routes under DOCUMENTATION_PREFIX and the console's under CONSOLE_PREFIX
 * are not differences.
 */
export function compareWithFastify(nest: NestRoute[], fastify: FastifyRoute[]): { onlyInNest: string[]; onlyInFastify: string[] } {
  const nestKeys = new Set(nest.map((r) => `${r.method} ${routeShape(r.path)}`));
  const isDocumentation = (path: string) =>
    [DOCUMENTATION_PREFIX, CONSOLE_PREFIX].some((prefix) => path === prefix || path === `${prefix}*` || path.startsWith(`${prefix}/`));
  const fastifyKeys = new Set(fastify.filter((r) => !isDocumentation(r.path)).map((r) => `${r.method} ${routeShape(r.path)}`));
  const onlyInNest = [...nestKeys].filter((k) => !fastifyKeys.has(k));
  const onlyInFastify = [...fastifyKeys].filter((k) => {
    if (nestKeys.has(k)) return false;
    const [method, shape] = k.split(' ');
    return !(method === 'HEAD' && nestKeys.has(`GET ${shape}`));
  });
  return { onlyInNest: onlyInNest.sort(), onlyInFastify: onlyInFastify.sort() };
}

/** The path with every `:param` replaced by a fresh random UUID (and a `*` wildcard by `x`). */
export function fillPath(path: string): string {
  return path.replace(/:[^/]+/g, () => randomUUID()).replace(/\*/g, 'x');
}
