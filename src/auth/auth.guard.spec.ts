/**
 * The guard's pure decision (`authorize`, src/auth/auth.guard.ts) against the table of
 * docs/roles.md: every role × every kind of endpoint × every way of calling. Expected outcomes
 * are written out by hand, not derived from src/auth/roles.ts.
 */
import { DomainError } from '../common/domain-error';
import type { UserRole } from '../generated/prisma/enums';
import { AuthUser } from './auth-user';
import { AuthRule } from './auth.decorators';
import { authorize } from './auth.guard';

type Endpoint = 'adminRead' | 'adminWrite' | 'super' | 'scoped' | 'ownAccount';
type Caller = 'jwt' | 'adminKey' | 'usageKey';
/** 'ok', or the 403 code expected */
type Outcome = 'ok' | 'forbidden' | 'read_only_role' | 'insufficient_scope' | 'password_change_required';

const ENDPOINTS: Record<Endpoint, { rule: AuthRule; reads: boolean }> = {
  adminRead: { rule: { admin: true }, reads: true },
  adminWrite: { rule: { admin: true }, reads: false },
  super: { rule: { admin: 'super' }, reads: false },
  scoped: { rule: { scope: 'usage:read' }, reads: true },
  ownAccount: { rule: { ownAccount: true }, reads: false },
};

const CALLERS: Record<Caller, Pick<AuthUser, 'via' | 'scopes' | 'keyId'>> = {
  jwt: { via: 'jwt', scopes: [], keyId: null },
  adminKey: { via: 'api_key', scopes: ['admin'], keyId: 'k-admin' },
  usageKey: { via: 'api_key', scopes: ['usage:read'], keyId: 'k-usage' },
};

/** role → caller → [adminRead, adminWrite, super, scoped, ownAccount] */
const TABLE: Record<UserRole, Record<Caller, [Outcome, Outcome, Outcome, Outcome, Outcome]>> = {
  super_admin: {
    jwt: ['ok', 'ok', 'ok', 'ok', 'ok'],
    adminKey: ['ok', 'ok', 'ok', 'ok', 'ok'],
    usageKey: ['insufficient_scope', 'insufficient_scope', 'insufficient_scope', 'ok', 'ok'],
  },
  admin: {
    jwt: ['ok', 'ok', 'forbidden', 'ok', 'ok'],
    adminKey: ['ok', 'ok', 'forbidden', 'ok', 'ok'],
    usageKey: ['insufficient_scope', 'insufficient_scope', 'forbidden', 'ok', 'ok'],
  },
  admin_viewer: {
    jwt: ['ok', 'read_only_role', 'read_only_role', 'ok', 'ok'],
    adminKey: ['ok', 'read_only_role', 'read_only_role', 'ok', 'ok'],
    usageKey: ['insufficient_scope', 'read_only_role', 'read_only_role', 'ok', 'ok'],
  },
  member: {
    jwt: ['forbidden', 'forbidden', 'forbidden', 'ok', 'ok'],
    // an admin-scoped key never lifts a member above the role
    adminKey: ['forbidden', 'forbidden', 'forbidden', 'insufficient_scope', 'ok'],
    usageKey: ['forbidden', 'forbidden', 'forbidden', 'ok', 'ok'],
  },
  member_viewer: {
    jwt: ['forbidden', 'read_only_role', 'read_only_role', 'ok', 'ok'],
    adminKey: ['forbidden', 'read_only_role', 'read_only_role', 'insufficient_scope', 'ok'],
    usageKey: ['forbidden', 'read_only_role', 'read_only_role', 'ok', 'ok'],
  },
};

function user(role: UserRole, caller: Pick<AuthUser, 'via' | 'scopes' | 'keyId'>, mustChangePassword = false): AuthUser {
  return { id: 'u1', did: 'zUser', email: 'u@example.com', role, mustChangePassword, ...caller };
}

/** 'ok' when authorize() lets the call through, else the DomainError's code (403 checked). */
function decide(u: AuthUser, endpoint: Endpoint): Outcome {
  const { rule, reads } = ENDPOINTS[endpoint];
  try {
    authorize(u, rule, reads);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).status).toBe(403);
    return (err as DomainError).code as Outcome;
  }
}

const ORDER: Endpoint[] = ['adminRead', 'adminWrite', 'super', 'scoped', 'ownAccount'];

describe('authorize(): role × endpoint × caller', () => {
  const cases = (Object.keys(TABLE) as UserRole[]).flatMap((role) =>
    (Object.keys(CALLERS) as Caller[]).flatMap((caller) =>
      ORDER.map((endpoint, i) => [role, caller, endpoint, TABLE[role][caller][i]] as const),
    ),
  );

  it('covers 5 roles × 3 callers × 5 endpoints', () => {
    expect(cases).toHaveLength(75);
  });

  it.each(cases)('%s via %s on %s → %s', (role, caller, endpoint, expected) => {
    expect(decide(user(role, CALLERS[caller]), endpoint)).toBe(expected);
  });
});

describe('authorize(): special callers', () => {
  it.each(['super_admin', 'admin', 'admin_viewer', 'member', 'member_viewer'] as UserRole[])(
    '%s with a password to change: only own-account endpoints (JWT); other endpoints 403 password_change_required',
    (role) => {
      const u = user(role, CALLERS.jwt, true);
      for (const endpoint of ['adminRead', 'adminWrite', 'super', 'scoped'] as Endpoint[]) {
        expect(decide(u, endpoint)).toBe('password_change_required');
      }
      expect(decide(u, 'ownAccount')).toBe('ok');
    },
  );

  it.each(['super_admin', 'admin', 'admin_viewer', 'member', 'member_viewer'] as UserRole[])(
    '%s with a gateway-only key (no scopes): 403 insufficient_scope on own-account and scoped endpoints',
    (role) => {
      const u = user(role, { via: 'api_key', scopes: [], keyId: 'k-gateway' });
      expect(decide(u, 'ownAccount')).toBe('insufficient_scope');
      expect(decide(u, 'scoped')).toBe('insufficient_scope');
    },
  );

  it('an admin endpoint with a scope accepts a key with that scope instead of admin', () => {
    const u = user('admin', { via: 'api_key', scopes: ['users:read'], keyId: 'k' });
    expect(() => authorize(u, { admin: true, scope: 'users:read' }, true)).not.toThrow();
    expect(() => authorize(u, { admin: true, scope: 'users:write' }, false)).toThrow(
      expect.objectContaining({ code: 'insufficient_scope' }),
    );
  });
});
