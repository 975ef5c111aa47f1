/**
 * The role × endpoint matrix (docs/roles.md, docs/api/auth.md), generated from the live route
 * table (test/support/route-table.ts): a route added later is covered without editing this file,
 * and a route without an access rule fails it.
 *
 * - Every route has @Public or @Auth; the public ones are the documented ones; the gateway's /v1
 *   routes are guarded by the virtual-key guard instead.
 * - Every guarded route × every caller (anonymous, a JWT of each role, API keys with various
 *   scopes): the guard's answer equals the one computed here from the rule and the caller. The
 *   expectation is written independently of src/auth/auth.guard.ts (it does not call
 *   `authorize()`), so a wrong guard fails this test.
 * - BOLA: a member never reads or changes another member's keys, calls, grants or transactions.
 */
import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { Scope, SCOPES } from '../src/auth/auth-user';
import { AuthRule } from '../src/auth/auth.decorators';
import { Decimal } from '../src/common/decimal';
import { CallSettlementRepository } from '../src/credits/call-settlement.repository';
import { UserRole } from '../src/generated/prisma/enums';
import { ModelCallRepository } from '../src/model-calls/model-call.repository';
import { generateDid } from '../src/users/did';
import { testCallRecord } from './support/call-records';
import { createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';
import { compareWithFastify, fillPath, listFastifyRoutes, listNestRoutes, NestRoute } from './support/route-table';

// ---------------------------------------------------------------------------------------------
// The expected answers (docs/roles.md), independent of the guard's code
// ---------------------------------------------------------------------------------------------

/** Codes only the guard answers with: a 401/403 carrying one of them means "refused by the guard". */
const GUARD_CODES = new Set([
  'unauthorized',
  'forbidden',
  'read_only_role',
  'insufficient_scope',
  'no_auth_rule',
  'password_change_required',
]);

/**
 * How a route family words its errors: `/v1` in OpenAI's shape (docs/api/gateway.md), `/api/toiee`
 * as `{success:false, message, error}` (src/toiee/toiee-error.ts), which folds every 403 of the
 * guard into `FORBIDDEN` and its 401 into `MISSING_API_KEY` / `INVALID_API_KEY`; every other
 * route as `{statusCode, code, message}` (docs/api-conventions.md).
 */
type Family = 'management' | 'openai' | 'toiee' | 'llm-config';

function familyOf(path: string): Family {
  if (path.startsWith('/v1/users/')) return 'llm-config'; // {status:"error", error:{code}} (src/llm-config/llm-config-error.ts)
  if (path === '/v1' || path.startsWith('/v1/')) return 'openai';
  if (path === '/api/toiee' || path.startsWith('/api/toiee/')) return 'toiee';
  return 'management';
}

/** The machine-readable code of an error body in the family's shape; undefined for other bodies. */
function codeIn(family: Family, body: unknown): string | undefined {
  const b = (body ?? {}) as { code?: unknown; error?: unknown; success?: unknown };
  if (family === 'openai') {
    const e = b.error as { code?: unknown } | undefined;
    return typeof e?.code === 'string' ? e.code : undefined;
  }
  if (family === 'toiee') return b.success === false && typeof b.error === 'string' ? b.error : undefined;
  if (family === 'llm-config') {
    // the guard's own code is kept as details.reason under the API's FORBIDDEN / UNAUTHORIZED
    const e = b.error as { code?: string; details?: { reason?: string } } | undefined;
    return e?.details?.reason ?? e?.code;
  }
  return typeof b.code === 'string' ? b.code : undefined;
}

/** A guard code as the family words it (`anonymous`: the request carried no credentials). */
function inFamily(family: Family, code: string, anonymous: boolean): string {
  if (family !== 'toiee') return code;
  if (code === 'unauthorized') return anonymous ? 'MISSING_API_KEY' : 'INVALID_API_KEY';
  return 'FORBIDDEN';
}

/** Every code of the guard, as the family words it. */
function guardCodesOf(family: Family): Set<string> {
  if (family === 'toiee') return new Set(['MISSING_API_KEY', 'INVALID_API_KEY', 'FORBIDDEN']);
  return GUARD_CODES;
}

/** Routes that need no credentials at all (docs/api/auth.md "Rules of the guard"). */
const DOCUMENTED_PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /auth/login',
  'GET /ai-providers/models',
  'GET /ai-providers/health',
];

/** The OpenAI-compatible routes (docs/api/gateway.md): virtual keys, checked by VirtualKeyGuard. */
const GATEWAY_ROUTES = ['GET /v1/models', 'POST /v1/chat/completions', 'POST /v1/embeddings'];

/** Which kind of endpoint a rule and a method make, as the columns of the table below. */
type Column = 'userRead' | 'userWrite' | 'ownAccountWrite' | 'adminRead' | 'adminWrite' | 'super';

/**
 * May a role call an endpoint of this kind (docs/roles.md; src/auth/roles.ts has the same table
 * in prose): viewers never write except their own password and sessions; admin reads are for
 * the three admin roles, admin writes for super_admin and admin; `'super'` for super_admin only.
 */
const ROLE_TABLE: Record<UserRole, Record<Column, boolean>> = {
  super_admin: { userRead: true, userWrite: true, ownAccountWrite: true, adminRead: true, adminWrite: true, super: true },
  admin: { userRead: true, userWrite: true, ownAccountWrite: true, adminRead: true, adminWrite: true, super: false },
  admin_viewer: { userRead: true, userWrite: false, ownAccountWrite: true, adminRead: true, adminWrite: false, super: false },
  member: { userRead: true, userWrite: true, ownAccountWrite: true, adminRead: false, adminWrite: false, super: false },
  member_viewer: { userRead: true, userWrite: false, ownAccountWrite: true, adminRead: false, adminWrite: false, super: false },
};

/** A request changes nothing: GET/HEAD, or a POST the rule marks `reads`. */
function isRead(method: string, rule: AuthRule): boolean {
  return method === 'GET' || method === 'HEAD' || rule.reads === true;
}

/** The column of ROLE_TABLE an endpoint falls in. */
function columnOf(rule: AuthRule, reads: boolean): Column {
  if (rule.admin === 'super') return 'super';
  if (rule.admin === true) return reads ? 'adminRead' : 'adminWrite';
  if (reads) return 'userRead';
  return rule.ownAccount ? 'ownAccountWrite' : 'userWrite';
}

interface CallerSpec {
  /** column label in the printed matrix */
  label: string;
  description: string;
  kind: 'anonymous' | 'jwt' | 'key';
  role?: UserRole;
  scopes?: Scope[];
  mustChangePassword?: boolean;
}

type Expected = { pass: true } | { pass: false; status: 401 | 403; codes: string[] };

/** What the guard must answer `caller` on an endpoint with `rule` called with `method`. */
function expectedOutcome(rule: AuthRule, method: string, caller: CallerSpec): Expected {
  if (caller.kind === 'anonymous') return { pass: false, status: 401, codes: ['unauthorized'] };
  const role = caller.role!;
  const reads = isRead(method, rule);
  const codes = new Set<string>();
  if (caller.kind === 'jwt' && caller.mustChangePassword && !rule.ownAccount) codes.add('password_change_required');
  if (!ROLE_TABLE[role][columnOf(rule, reads)]) {
    // a viewer (a role that may not write user data) writing: read_only_role; short of an admin role: forbidden
    if (!ROLE_TABLE[role].userWrite && !reads && !rule.ownAccount) codes.add('read_only_role');
    if (rule.admin) codes.add('forbidden');
  }
  if (caller.kind === 'key') {
    const scopes = caller.scopes ?? [];
    const has = (s: string) => (scopes as string[]).includes(s);
    let scopeOk: boolean;
    if (rule.admin) scopeOk = has('admin') || (rule.scope !== undefined && has(rule.scope));
    // `admin` stands for every scope when the key's user has an admin role (docs/roles.md "Service keys and scopes")
    else if (rule.scope) scopeOk = has(rule.scope) || (has('admin') && ROLE_TABLE[role].adminRead);
    else scopeOk = scopes.length > 0;
    if (!scopeOk) codes.add('insufficient_scope');
  }
  return codes.size === 0 ? { pass: true } : { pass: false, status: 403, codes: [...codes].sort() };
}

const NON_ADMIN_SCOPES: Scope[] = SCOPES.filter((s) => s !== 'admin');

const CALLERS: CallerSpec[] = [
  { label: 'anon', description: 'anonymous', kind: 'anonymous' },
  { label: 'mem', description: 'member JWT', kind: 'jwt', role: 'member' },
  { label: 'mview', description: 'member_viewer JWT', kind: 'jwt', role: 'member_viewer' },
  { label: 'aview', description: 'admin_viewer JWT', kind: 'jwt', role: 'admin_viewer' },
  { label: 'admin', description: 'admin JWT', kind: 'jwt', role: 'admin' },
  { label: 'super', description: 'super_admin JWT', kind: 'jwt', role: 'super_admin' },
  { label: 'mem!pw', description: 'member JWT, password must be changed', kind: 'jwt', role: 'member', mustChangePassword: true },
  { label: 'k:none', description: "member's key without scopes", kind: 'key', role: 'member', scopes: [] },
  { label: 'k:m+S', description: "member's key with every scope but admin", kind: 'key', role: 'member', scopes: NON_ADMIN_SCOPES },
  { label: 'k:m+A', description: "member's key with the admin scope", kind: 'key', role: 'member', scopes: ['admin'] },
  { label: 'k:mv+A', description: "member_viewer's key with the admin scope", kind: 'key', role: 'member_viewer', scopes: ['admin'] },
  { label: 'k:av+A', description: "admin_viewer's key with the admin scope", kind: 'key', role: 'admin_viewer', scopes: ['admin'] },
  { label: 'k:a+A', description: "admin's key with the admin scope", kind: 'key', role: 'admin', scopes: ['admin'] },
  { label: 'k:a+S', description: "admin's key with every scope but admin", kind: 'key', role: 'admin', scopes: NON_ADMIN_SCOPES },
];

function ruleLabel(rule: AuthRule): string {
  const parts: string[] = [];
  if (rule.admin === 'super') parts.push('super');
  else if (rule.admin) parts.push('admin');
  if (rule.scope) parts.push(rule.scope);
  if (rule.reads) parts.push('reads');
  if (rule.ownAccount) parts.push('own');
  return parts.length ? parts.join(',') : 'any';
}

// ---------------------------------------------------------------------------------------------
// Callers and requests
// ---------------------------------------------------------------------------------------------

interface HttpAnswer {
  family: Family;
  status: number;
  /** the error code in the shape of the route's family; undefined for other bodies */
  code: string | undefined;
  text: string;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** A request still unanswered after this long (ms) is recorded as status 0 `timeout`. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Sends `method path` with `headers`; writes carry `body` (default `{}`). Never throws on a status. */
async function send(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: object = {},
): Promise<HttpAnswer> {
  const agent = request(baseUrl);
  const verbs: Record<string, (p: string) => request.Test> = {
    GET: (p) => agent.get(p),
    POST: (p) => agent.post(p),
    PUT: (p) => agent.put(p),
    PATCH: (p) => agent.patch(p),
    DELETE: (p) => agent.delete(p),
    HEAD: (p) => agent.head(p),
    OPTIONS: (p) => agent.options(p),
  };
  const make = verbs[method];
  if (!make) throw new Error(`no request builder for method ${method}`);
  let req = make(path);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  if (BODY_METHODS.has(method)) req = req.send(body);
  let res: request.Response;
  try {
    res = await req.timeout(REQUEST_TIMEOUT_MS);
  } catch (err) {
    if ((err as { timeout?: number }).timeout) {
      return { family: familyOf(path), status: 0, code: 'timeout', text: `no answer within ${REQUEST_TIMEOUT_MS} ms` };
    }
    throw err;
  }
  const family = familyOf(path);
  return { family, status: res.status, code: codeIn(family, res.body), text: res.text ?? '' };
}

/** The guard refused: 401/403 with one of its codes. A 404/400 from a handler is a pass. */
function refusedByGuard(a: HttpAnswer): boolean {
  return (a.status === 401 || a.status === 403) && a.code !== undefined && guardCodesOf(a.family).has(a.code);
}

/** Runs `fn` over `items`, `n` at a time. */
async function inPool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

describe('role matrix', () => {
  let h: Harness;
  let routes: NestRoute[];
  let jwt: JwtService;
  /** auth headers of the long-lived caller of each CALLERS entry, by label */
  const shared = new Map<string, Record<string, string>>();

  /** A login token as POST /auth/login issues it (docs/api/auth.md): sub, session version, id, 3600 s. */
  async function tokenFor(userId: string): Promise<string> {
    const user = await h.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    return jwt.signAsync({ sub: user.id, sv: user.sessionVersion, jti: randomUUID() }, { expiresIn: 3600 });
  }

  /**
   * A user with this role, written directly (no password: the callers log in by a signed token,
   * and hashing hundreds of generated passwords would only slow the suite down).
   */
  async function newUser(role: UserRole, opts: { mustChangePassword?: boolean } = {}) {
    return h.prisma.user.create({
      data: {
        did: generateDid(),
        email: `rm-${role.replace('_', '-')}-${randomUUID().slice(0, 12)}@example.com`,
        fullName: 'Matrix Caller',
        role,
        mustChangePassword: opts.mustChangePassword === true,
        creditAccount: { create: {} },
      },
    });
  }

  /** A new user (and key) matching the spec: its auth headers. */
  async function materialize(spec: CallerSpec): Promise<Record<string, string>> {
    if (spec.kind === 'anonymous') return {};
    const user = await newUser(spec.role!, { mustChangePassword: spec.mustChangePassword });
    if (spec.kind === 'jwt') return { authorization: `Bearer ${await tokenFor(user.id)}` };
    const key = await h.keys.create(user.id, { name: `matrix ${spec.label}`, scopes: spec.scopes ?? [] });
    return { authorization: `Bearer ${key.secret}` };
  }

  beforeAll(async () => {
    // Every caller hits every route at once: the export's per-process limit (4) is not what this
    // suite checks (test/model-calls-export.e2e-spec.ts does), so it is lifted here.
    h = await startHarness('role_matrix', { MODEL_CALLS_EXPORT_MAX_CONCURRENT: '1000' });
    jwt = h.app.get(JwtService);
    routes = listNestRoutes(h.app);
    for (const spec of CALLERS) shared.set(spec.label, await materialize(spec));
  });

  afterAll(async () => {
    await h?.close();
  });

  const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
  const isGateway = (r: NestRoute) => r.guards.includes('VirtualKeyGuard');

  describe('the route table', () => {
    it('holds the known routes, and the same routes as Fastify’s own router (none registered outside Nest)', () => {
      const keys = routes.map(key);
      for (const known of ['GET /auth/me', 'POST /auth/login', 'GET /user/info', 'POST /admin/credits/grants', ...GATEWAY_ROUTES]) {
        expect(keys).toContain(known);
      }
      expect(compareWithFastify(routes, listFastifyRoutes(h.app))).toEqual({ onlyInNest: [], onlyInFastify: [] });
    });

    it('every route has exactly one of @Public and @Auth', () => {
      const offenders = routes
        .filter((r) => r.isPublic === (r.rule !== undefined))
        .map((r) => `${key(r)} (${r.controller}.${r.handler}): ${r.isPublic ? 'both @Public and @Auth' : 'neither @Public nor @Auth'}`);
      expect(offenders).toEqual([]);
    });

    it('the public routes are the documented ones plus the gateway routes, which carry the virtual-key guard', () => {
      const publicRoutes = routes.filter((r) => r.isPublic && !isGateway(r)).map(key);
      expect(publicRoutes.sort()).toEqual([...DOCUMENTED_PUBLIC].sort());
      const gateway = routes.filter(isGateway).map(key);
      expect(gateway.sort()).toEqual([...GATEWAY_ROUTES].sort());
      // every /v1 route but the LLM config API (/v1/users/*) is a gateway route, and gateway routes skip the management guard by @Public
      expect(
        routes
          .filter((r) => r.path.startsWith('/v1') && !r.path.startsWith('/v1/users/'))
          .map(key)
          .sort(),
      ).toEqual(gateway.sort());
      expect(routes.filter(isGateway).every((r) => r.isPublic)).toBe(true);
    });

    it('gateway routes refuse a request without a virtual key, and a login JWT is not one (401, OpenAI shape)', async () => {
      const adminJwt = shared.get('admin')!;
      for (const r of routes.filter(isGateway)) {
        const none = await send(h.baseUrl, r.method, fillPath(r.path), {});
        expect({ route: key(r), status: none.status, code: none.code }).toEqual({ route: key(r), status: 401, code: 'missing_api_key' });
        const withJwt = await send(h.baseUrl, r.method, fillPath(r.path), adminJwt);
        expect({ route: key(r), status: withJwt.status, code: withJwt.code }).toEqual({
          route: key(r),
          status: 401,
          code: 'invalid_api_key',
        });
      }
    });

    it('public routes answer an anonymous caller without a guard refusal', async () => {
      for (const r of routes.filter((x) => x.isPublic && !isGateway(x))) {
        const a = await send(h.baseUrl, r.method, fillPath(r.path), {});
        expect({ route: key(r), refused: refusedByGuard(a), status: a.status }).toEqual({
          route: key(r),
          refused: false,
          status: a.status,
        });
      }
    });
  });

  describe('BOLA: member A and member B', () => {
    let a: Tenant;
    let b: Tenant;
    let aJwt: Record<string, string>;
    /** A's key with the read scopes (the same data through an API key) */
    let aKey: Record<string, string>;
    const aCalls: string[] = [];
    const bCalls: string[] = [];
    let bGrantId: string;

    async function billedCall(t: Tenant, into: string[]): Promise<void> {
      const id = randomUUID();
      await h.app
        .get(ModelCallRepository)
        .insert([testCallRecord(t.userId, { id, apiKeyId: t.keyId, promptTokens: 10, completionTokens: 5, credits: new Decimal('0.25') })]);
      expect((await h.app.get(CallSettlementRepository).applyDebits([id])).debited).toBe(1);
      into.push(id);
    }

    beforeAll(async () => {
      a = await createTenant(h, { credits: '100' });
      b = await createTenant(h, { credits: '200' });
      await h.ledger.grant({ userId: b.userId, amount: new Decimal('7'), reason: 'second grant of B' });
      for (let i = 0; i < 2; i++) await billedCall(a, aCalls);
      for (let i = 0; i < 3; i++) await billedCall(b, bCalls);
      bGrantId = (await h.prisma.creditGrant.findFirstOrThrow({ where: { userId: b.userId } })).id;
      // createTenant's users got a generated password they must change; A logs in by token here
      await h.prisma.user.updateMany({ where: { id: { in: [a.userId, b.userId] } }, data: { mustChangePassword: false } });
      aJwt = { authorization: `Bearer ${await tokenFor(a.userId)}` };
      const scoped = await h.keys.create(a.userId, { name: 'A dashboards', scopes: ['usage:read', 'credits:read'] });
      aKey = { 'x-api-key': scoped.secret };
    });

    const asA = () => [
      { via: 'jwt', headers: aJwt },
      { via: 'api key', headers: aKey },
    ];

    it('the call log and its export show only A’s calls, whatever the filter; allUsers=true is refused', async () => {
      for (const { via, headers } of asA()) {
        const list = await request(h.baseUrl).get('/user/model-calls?pageSize=100').set(headers).expect(200);
        const ids = (list.body.list as { id: string; userDid: string }[]).map((c) => c.id);
        expect({ via, ids: ids.sort() }).toEqual({ via, ids: [...aCalls].sort() });
        expect((list.body.list as { userDid: string }[]).every((c) => c.userDid === a.userDid)).toBe(true);
        // the search finds a call id of A's, never one of B's
        const own = await request(h.baseUrl).get(`/user/model-calls?search=${aCalls[0]}`).set(headers).expect(200);
        expect({ via, count: own.body.count }).toEqual({ via, count: 1 });
        const search = await request(h.baseUrl).get(`/user/model-calls?search=${bCalls[0]}`).set(headers).expect(200);
        expect({ via, count: search.body.count }).toEqual({ via, count: 0 });
        const csv = await request(h.baseUrl).get('/user/model-calls/export').set(headers).expect(200);
        expect(csv.text).toContain(aCalls[0]);
        for (const id of bCalls) expect(csv.text).not.toContain(id);
        expect(csv.text).not.toContain(b.userDid);
        for (const path of ['/user/model-calls?allUsers=true', '/user/model-calls/export?allUsers=true']) {
          const refused = await request(h.baseUrl).get(path).set(headers);
          expect({ via, path, status: refused.status, code: (refused.body as { code?: string }).code }).toEqual({
            via,
            path,
            status: 403,
            code: 'forbidden',
          });
        }
      }
    });

    it('usage stats count only A’s calls', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const { headers } of asA()) {
        const res = await request(h.baseUrl)
          .get(`/user/usage-stats?startTime=${now - 3600}&endTime=${now + 3600}`)
          .set(headers)
          .expect(200);
        expect(res.body.summary.totalCalls).toBe(aCalls.length);
      }
    });

    it('grants, transactions and balance are A’s only', async () => {
      const aTx = (await h.prisma.creditTransaction.findMany({ where: { userId: a.userId }, select: { id: true } })).map((t) => t.id);
      const bGrants = (await h.prisma.creditGrant.findMany({ where: { userId: b.userId }, select: { id: true } })).map((g) => g.id);
      expect(bGrants).toContain(bGrantId);
      for (const { via, headers } of asA()) {
        const grants = await request(h.baseUrl).get('/user/credit/grants?pageSize=100').set(headers).expect(200);
        const grantList = grants.body.list as { id: string; userDid: string }[];
        expect({ via, count: grants.body.count }).toEqual({ via, count: 1 });
        expect(grantList.every((g) => g.userDid === a.userDid && !bGrants.includes(g.id))).toBe(true);
        const tx = await request(h.baseUrl).get('/user/credit/transactions?pageSize=100').set(headers).expect(200);
        expect({ via, ids: (tx.body.list as { id: string }[]).map((t) => t.id).sort() }).toEqual({ via, ids: [...aTx].sort() });
        const balance = await request(h.baseUrl).get('/user/credit/balance').set(headers).expect(200);
        expect(balance.body.balance).toBe(new Decimal('100').minus(new Decimal('0.25').times(aCalls.length)).toNumber());
      }
    });

    it('A can neither read nor change B’s key: GET, PATCH and POST revoke on /user/keys/:keyId of B answer 404 key_not_found, B’s key still works', async () => {
      const before = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: b.keyId } });
      const documented: { method: string; path: string; body?: object }[] = [
        { method: 'GET', path: `/user/keys/${b.keyId}` },
        { method: 'PATCH', path: `/user/keys/${b.keyId}`, body: { name: 'renamed by A' } },
        { method: 'POST', path: `/user/keys/${b.keyId}/revoke` },
      ];
      for (const { method, path, body } of documented) {
        const res = await send(h.baseUrl, method, path, aJwt, body);
        // docs/api/keys.md: another user's key is 404 `key_not_found`, as if it did not exist
        expect({ request: `${method} ${path}`, status: res.status, code: res.code }).toEqual({
          request: `${method} ${path}`,
          status: 404,
          code: 'key_not_found',
        });
        expect(res.text).not.toContain(before.prefix);
      }
      // every other /user/keys/:keyId… route the app has (reveal, delete…): B's key is never A's
      for (const r of routes.filter((x) => /^\/user\/keys\/:[^/]+/.test(x.path))) {
        const path = r.path.replace(/:[^/]+/, b.keyId).replace(/:[^/]+/g, () => randomUUID());
        const res = await send(h.baseUrl, r.method, path, aJwt);
        // 404, or 400 when the empty body is refused before the key is looked up
        expect({ route: key(r), refused: res.status === 404 || res.status === 400 }).toEqual({ route: key(r), refused: true });
        expect(res.text).not.toContain(before.prefix);
      }
      if (routes.some((r) => key(r) === 'GET /user/keys')) {
        const mine = await request(h.baseUrl).get('/user/keys').set(aJwt).expect(200);
        expect(JSON.stringify(mine.body)).not.toContain(b.keyId);
      }
      const after = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: b.keyId } });
      expect({ name: after.name, revokedAt: after.revokedAt, scopes: after.scopes }).toEqual({
        name: before.name,
        revokedAt: null,
        scopes: before.scopes,
      });
      await request(h.baseUrl).get('/v1/models').set('authorization', `Bearer ${b.key}`).expect(200);
    });
  });

  describe('every guarded route × every caller', () => {
    interface Cell {
      route: NestRoute;
      caller: CallerSpec;
      expected: Expected;
      answer: HttpAnswer;
      ok: boolean;
    }
    const cells: Cell[] = [];

    beforeAll(async () => {
      const guarded = routes.filter((r) => !r.isPublic && r.rule !== undefined);
      const jobs = guarded.flatMap((route) => CALLERS.map((caller) => ({ route, caller })));
      await inPool(jobs, 6, async ({ route, caller }) => {
        // A write may end the caller's session or change the caller (logout, logout-all, password,
        // own keys): every write is sent by a caller of its own, so the shared callers stay intact.
        const writes = !isRead(route.method, route.rule!);
        const headers = writes ? await materialize(caller) : shared.get(caller.label)!;
        const answer = await send(h.baseUrl, route.method, fillPath(route.path), headers);
        const expected = expectedOutcome(route.rule!, route.method, caller);
        const ok = expected.pass
          ? !refusedByGuard(answer)
          : answer.status === expected.status &&
            answer.code !== undefined &&
            expected.codes.some((c) => inFamily(answer.family, c, caller.kind === 'anonymous') === answer.code);
        cells.push({ route, caller, expected, answer, ok });
      });
    });

    /** routes × callers, the status in each cell, `!` where it differs from the expectation */
    function matrix(mark: (c: Cell) => boolean): string {
      const byRoute = new Map<string, Map<string, Cell>>();
      for (const c of cells) {
        const k = `${key(c.route)} [${ruleLabel(c.route.rule!)}]`;
        if (!byRoute.has(k)) byRoute.set(k, new Map());
        byRoute.get(k)!.set(c.caller.label, c);
      }
      const width = Math.max(...[...byRoute.keys()].map((k) => k.length));
      const head = `${''.padEnd(width)} ${CALLERS.map((c) => c.label.padStart(7)).join('')}`;
      const lines = [...byRoute.entries()]
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([k, row]) => {
          const cellText = CALLERS.map((c) => {
            const cell = row.get(c.label)!;
            return `${cell.answer.status}${mark(cell) ? '!' : ' '}`.padStart(7);
          });
          return `${k.padEnd(width)} ${cellText.join('')}`;
        });
      const legend = CALLERS.map((c) => `${c.label} = ${c.description}`).join('; ');
      return [head, ...lines, legend].join('\n');
    }

    function describeCell(c: Cell): string {
      const want = c.expected.pass ? 'passes the guard' : `${c.expected.status} ${c.expected.codes.join('|')}`;
      return `${key(c.route)} [${ruleLabel(c.route.rule!)}] as ${c.caller.description}: expected ${want}, got ${c.answer.status} ${c.answer.code ?? ''}`;
    }

    it('covers every guarded route with every caller', () => {
      const guarded = routes.filter((r) => !r.isPublic && r.rule !== undefined);
      expect(guarded.length).toBeGreaterThan(0);
      expect(cells.length).toBe(guarded.length * CALLERS.length);
    });

    it('the guard answers every caller as docs/roles.md says', () => {
      const wrong = cells.filter((c) => !c.ok);
      if (wrong.length > 0) {
        throw new Error(
          `${wrong.length} of ${cells.length} cells differ from docs/roles.md:\n${wrong.map(describeCell).join('\n')}\n\n${matrix((c) => !c.ok)}`,
        );
      }
    });

    it('no route answers 5xx (or hangs) once a caller has passed the guard with random ids and an empty body', () => {
      const broken = cells.filter((c) => !refusedByGuard(c.answer) && (c.answer.status >= 500 || c.answer.status === 0));
      if (broken.length > 0) {
        const lines = broken.map(
          (c) => `${key(c.route)} as ${c.caller.description}: ${c.answer.status} ${c.answer.code ?? ''} ${c.answer.text.slice(0, 160)}`,
        );
        throw new Error(
          `${broken.length} answers were 5xx:\n${lines.join('\n')}\n\n${matrix((c) => c.answer.status >= 500 || c.answer.status === 0)}`,
        );
      }
    });
  });
});
