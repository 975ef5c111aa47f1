/**
 * Label values of Tollgate's metrics, bounded so that no caller can add series at will
 * (docs/operations.md "Metrics", "Label cardinality"). Every function here maps an input an
 * attacker may choose onto a small, fixed or admin-configured set.
 */

/** HTTP methods kept as they are; any other method is labelled `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Label of a request that matched no route (a 404 for an unknown path). */
export const UNMATCHED_ROUTE = 'unmatched';
/** Provider label of a gateway call that found no route (unknown model, refused before routing). */
export const NO_PROVIDER = 'none';
/** Model label of a call whose model is not an enabled rate of its provider. */
export const OTHER_MODEL = 'other';

/** `GET`, `POST`… as sent; anything else (WebDAV verbs, garbage) → `other`. */
export function methodLabel(method: string): string {
  if (KNOWN_METHODS.has(method)) return method; // the usual case: no upper-cased copy
  const m = method.toUpperCase();
  return KNOWN_METHODS.has(m) ? m : 'other';
}

/**
 * The route TEMPLATE a request matched (`/admin/users/:id`), never its URL: ids and query strings
 * would make one series per value. A request that matched no route → `unmatched`.
 */
export function routeLabel(template: string | undefined): string {
  return template && template.length > 0 ? template : UNMATCHED_ROUTE;
}

/** Labels of the status codes met so far (index: the code), so a code is turned to text once. */
const STATUS_LABELS: string[] = [];

/** The status code as text (`200`), or `other` when outside 100..599. */
export function statusLabel(status: number): string {
  if (!(Number.isInteger(status) && status >= 100 && status <= 599)) return 'other';
  return (STATUS_LABELS[status] ??= String(status));
}

/**
 * The model label of a gateway call to a provider of the routing table (`models`: that provider's
 * enabled model names): the recorded model only when it is one of them; anything else is `other`,
 * so random model names sent by a client never add series. A call without a provider of the
 * table gets provider `none`, model `other` (src/metrics/gateway-call-metrics.ts).
 */
export function modelLabel(models: ReadonlySet<string>, model: string): string {
  return models.has(model) ? model : OTHER_MODEL;
}
