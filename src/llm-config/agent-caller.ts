import type { AuthUser } from '../auth/auth-user';
import { canWriteAdmin } from '../auth/roles';
import { DomainError } from '../common/domain-error';

/** The scope a service key needs for the LLM config API. */
export const LLM_CONFIG_SCOPE = 'llm-config:read';

/**
 * The LLM config API hands out LLM api keys and Tollgate virtual keys of any user, so beyond the
 * global guard (which lets a login JWT, or an `admin`-scoped key of an admin, call a scoped route)
 * it accepts only a service key (an API key) holding `llm-config:read` itself whose user is
 * super_admin or admin: the same bar as revealing a key's secret (docs/api/llm-config.md
 * "Authentication").
 * @throws DomainError 403 FORBIDDEN, `details.reason` service_key_required | llm_config_scope_required | admin_key_required
 */
export function assertAgentCaller(user: AuthUser): void {
  if (user.via !== 'api_key')
    throw refused('service_key_required', 'This API takes a service key (Authorization: Bearer tg-…), not a login token');
  if (!user.scopes.includes(LLM_CONFIG_SCOPE))
    throw refused('llm_config_scope_required', `This API key lacks the scope "${LLM_CONFIG_SCOPE}"`);
  if (!canWriteAdmin(user.role)) throw refused('admin_key_required', 'The service key must belong to a super_admin or admin');
}

/** 403 FORBIDDEN with `details.reason`. */
function refused(reason: string, message: string): DomainError {
  return new DomainError(403, 'FORBIDDEN', message, { details: { reason } });
}
