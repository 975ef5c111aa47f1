import { Decimal } from '../common/decimal';
import { ModelCallStatus, ModelType } from '../generated/prisma/enums';

/** One finished gateway call, ready to be written to the call log and (if billable) debited. */
export interface CallRecord {
  id: string;
  userId: string;
  apiKeyId: string | null;
  providerId: string | null;
  credentialId: string | null;
  model: string;
  type: ModelType;
  status: ModelCallStatus;
  stream: boolean;
  /** tokens */
  promptTokens: number;
  /** tokens */
  completionTokens: number;
  usageSource: 'upstream' | 'tokenizer' | 'estimate' | 'none';
  /** credits charged (0 for failed calls) */
  credits: Decimal;
  durationMs: number;
  appDid: string | null;
  requestId: string;
  upstreamStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  /** true: `credits` is to be debited (success or aborted, with credit billing on) */
  billable: boolean;
  /** true: the call may hold credits (or a start-of-call row), to be released when it is settled */
  hasHold: boolean;
  /** the credit reserve the call was admitted from (its debit comes out of it); absent or null: none */
  reserveId?: string | null;
  /** when the call went upstream: its timing (ms), for metrics only (src/metrics); not stored */
  upstreamTiming?: UpstreamTiming | null;
}

/** How long the provider took for one call, in ms from the request going upstream (retries included). */
export interface UpstreamTiming {
  /** until the provider's answer (or failure) was complete */
  totalMs: number;
  /** until its first byte: response headers, or a stream's first chunk; null when none arrived */
  firstByteMs: number | null;
}

/** Longest text kept per column (characters); longer values are cut. */
const TEXT_LIMITS = { model: 256, appDid: 128, requestId: 128, errorCode: 64, errorMessage: 1000 } as const;
const INT_MAX = 2_147_483_647;
/** Tokens per field are kept below this, so prompt + completion still fits an integer column. */
const TOKENS_MAX = 1_000_000_000;

/**
 * Makes a record safe to write: every text field loses NUL characters (PostgreSQL refuses them in
 * text) and is cut to its column's limit; integers are clamped to PostgreSQL's integer range.
 * Applied to every record before it is written, whatever its source (the client's model name, a
 * provider's error message that echoes the request…).
 */
export function sanitizeRecord(r: CallRecord): CallRecord {
  return {
    ...r,
    model: cleanText(r.model, TEXT_LIMITS.model) ?? '',
    appDid: cleanText(r.appDid, TEXT_LIMITS.appDid),
    requestId: cleanText(r.requestId, TEXT_LIMITS.requestId) ?? '',
    errorCode: cleanText(r.errorCode, TEXT_LIMITS.errorCode),
    errorMessage: cleanText(r.errorMessage, TEXT_LIMITS.errorMessage),
    promptTokens: Math.min(TOKENS_MAX, clampInt(r.promptTokens)),
    completionTokens: Math.min(TOKENS_MAX, clampInt(r.completionTokens)),
    durationMs: clampInt(r.durationMs),
    upstreamStatus: r.upstreamStatus === null ? null : clampInt(r.upstreamStatus),
  };
}

/**
 * The last resort for a record PostgreSQL still refused on its own: free text replaced by
 * placeholders and optional references (key, provider, credential) dropped, keeping what the books
 * need (id, user, tokens, credits, status). The call is recorded, never dropped.
 */
export function scrubRecord(r: CallRecord): CallRecord {
  return {
    ...r,
    apiKeyId: null,
    providerId: null,
    credentialId: null,
    model: /^[\w.:/@+-]{1,256}$/.test(r.model) ? r.model : 'unrecordable-model-name',
    appDid: null,
    requestId: /^[\w.:-]{1,128}$/.test(r.requestId) ? r.requestId : 'unrecordable-request-id',
    errorCode: r.errorCode === null ? null : 'record_scrubbed',
    errorMessage: 'The original text of this record could not be stored and was replaced',
  };
}

function cleanText(v: string | null, max: number): string | null {
  if (v === null) return null;
  let s = v.includes('\u0000') ? v.replaceAll('\u0000', '') : v;
  if (s.length > max) s = s.slice(0, max);
  // Never leave half of a surrogate pair at the cut.
  const last = s.charCodeAt(s.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1);
  return s;
}

function clampInt(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.max(0, Math.min(INT_MAX, Math.round(n)));
}

/** A record as JSON (the Redis fallback stores it so): dates ISO-8601, credits a decimal string. */
export function recordToJson(r: CallRecord): string {
  return JSON.stringify({ ...r, credits: r.credits.toFixed(), createdAt: r.createdAt.toISOString() });
}

/** The inverse of recordToJson. @throws SyntaxError or Error on malformed input */
export function recordFromJson(text: string): CallRecord {
  const o = JSON.parse(text) as Omit<CallRecord, 'credits' | 'createdAt'> & { credits: string; createdAt: string };
  if (typeof o?.id !== 'string' || typeof o.userId !== 'string') throw new Error('not a call record');
  return { ...o, credits: new Decimal(o.credits), createdAt: new Date(o.createdAt) };
}
