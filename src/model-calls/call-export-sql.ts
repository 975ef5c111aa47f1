import { escapeLiteral } from 'pg';
import { inlineParams } from '../database/sql-literals';
import { buildCallWhere, TYPE_LABELS } from './call-filters';
import { ModelCallFiltersDto } from './dto/model-call-filters.dto';

/**
 * A text cell of the export as SQL: `csvSafe` of call-export.service.ts done by PostgreSQL. A
 * value starting with = + - @ tab or CR (code points 61, 43, 45, 64, 9, 13) gets a leading
 * apostrophe so spreadsheets show it as text instead of evaluating it; an empty string becomes
 * NULL, which COPY writes as an empty unquoted cell (it would write a non-null empty string as
 * `""`). NUL characters need no removal here: PostgreSQL text cannot hold U+0000 (the call
 * recorder drops them before the insert, src/model-calls/call-record.ts).
 */
function textCell(expr: string): string {
  return `CASE WHEN ascii(${expr}) IN (9, 13, 43, 45, 61, 64) THEN '''' || ${expr} ELSE NULLIF(${expr}, '') END`;
}

/**
 * The export's `COPY (SELECT …) TO STDOUT WITH (FORMAT csv)` statement: the filtered calls
 * (`userId` null = every user), newest first ((created_at, id) descending), at most `limit` rows,
 * one CSV line per call in the columns of EXPORT_HEADERS (call-export.service.ts). PostgreSQL
 * quotes a cell holding a comma, a quote, CR or LF (quotes doubled) and ends every line with LF.
 * Served by the (user_id, created_at) and (created_at) indexes: rows stream out in order, without
 * a sort of the whole result.
 */
export function buildExportCopySql(filters: ModelCallFiltersDto, userId: string | null, limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`bad export limit ${limit}`);
  const where = buildCallWhere(filters, userId);
  // The list's labels (TYPE_LABELS), a type without one as stored.
  const typeLabel = `CASE mc.type::text ${Object.entries(TYPE_LABELS)
    .map(([type, label]) => `WHEN ${escapeLiteral(type)} THEN ${escapeLiteral(label)}`)
    .join(' ')} ELSE mc.type::text END`;
  return `COPY (
  SELECT to_char(mc.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    ${textCell('mc.request_id')}, ${textCell('u.did')}, ${textCell('u.full_name')}, ${textCell('u.email')},
    ${textCell('mc.model')}, ${textCell('p.display_name')},
    ${typeLabel},
    mc.status, mc.prompt_tokens, mc.completion_tokens, mc.total_tokens, trim_scale(mc.credits), mc.duration_ms,
    ${textCell('mc.app_did')}
  FROM model_calls mc
  JOIN users u ON u.id = mc.user_id
  LEFT JOIN ai_providers p ON p.id = mc.provider_id
  WHERE ${inlineParams(where.sql, where.params)}
  ORDER BY mc.created_at DESC, mc.id DESC
  LIMIT ${limit}
) TO STDOUT WITH (FORMAT csv)`;
}
