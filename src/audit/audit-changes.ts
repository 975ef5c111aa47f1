/**
 * Builders for the `changes` of an audit entry (docs/audit-log.md "Row"): what a write's entry
 * records as created fields, before/after of updated fields, or the deleted snapshot.
 */

/** `{before, after}` holding only the fields whose values differ (compared as JSON). */
export function beforeAfter<T extends Record<string, unknown>>(before: T, after: T): { before: Partial<T>; after: Partial<T> } {
  const b: Partial<T> = {};
  const a: Partial<T> = {};
  for (const k of Object.keys(after) as (keyof T)[]) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return { before: b, after: a };
}
