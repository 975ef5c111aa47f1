import type * as GptTokenizer from 'gpt-tokenizer';
import { CHAT_FRAMING, ChunkLimits, countTextBounded, DEFAULT_CHUNK_LIMITS, estimateTextTokens } from './token-chunking';

/**
 * Token counting with o200k_base (gpt-tokenizer), bounded so that no input costs more than linear
 * time (token-chunking.ts), with a linear estimate past a size limit. The functions here are
 * synchronous and run on the calling thread; in the api use TokenCounterService, which runs them
 * on a worker thread. gpt-tokenizer is loaded on the first count, not on import (loading it takes
 * about 0.7 s and 35 MB of heap).
 */

/** A chat message as OpenAI accepts it; content may be a string or an array of parts. */
export interface ChatMessageLike {
  role: string;
  content?: unknown;
  name?: string;
}

/** Past this many UTF-8 bytes of text in one count, the count is estimated (see countJobSync). */
export const DEFAULT_MAX_COUNT_BYTES = 4 * 1024 * 1024;

/**
 * One count as plain data, so it can be posted to a worker thread as is: the texts to tokenize
 * (summed) plus tokens known without the tokenizer (ChatML framing, token ids of an embeddings
 * input).
 */
export interface TokenCountJob {
  texts: string[];
  extraTokens: number;
  /** Chunking limits (default DEFAULT_CHUNK_LIMITS). */
  limits?: ChunkLimits;
}

/**
 * Text of a message's content: a string as is; for an array of content parts, the `text` of
 * each text part joined by newlines (images and audio are not counted).
 */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '',
      )
      .filter((s) => s.length > 0)
      .join('\n');
  }
  return '';
}

/**
 * The job for a chat prompt with the ChatML framing OpenAI bills for (as gpt-tokenizer's
 * `encodeChat(…, 'gpt-4o')`): per message the name (else the role; roles other than system,
 * user and assistant count as user) and the content, plus CHAT_FRAMING. No messages: 0 tokens.
 */
export function promptJob(messages: readonly ChatMessageLike[]): TokenCountJob {
  if (!Array.isArray(messages) || messages.length === 0) return { texts: [], extraTokens: 0 };
  const texts: string[] = [];
  for (const m of messages as readonly unknown[]) {
    const msg = (m && typeof m === 'object' ? m : {}) as Partial<ChatMessageLike>;
    const role = typeof msg.role === 'string' && ['system', 'user', 'assistant'].includes(msg.role) ? msg.role : 'user';
    texts.push(typeof msg.name === 'string' ? msg.name : role, messageText(msg.content));
  }
  return { texts, extraTokens: CHAT_FRAMING.perPrompt + CHAT_FRAMING.perMessage * messages.length };
}

/** The job for plain text (a completion, one embedding input). */
export function textJob(text: string): TokenCountJob {
  return typeof text === 'string' && text.length > 0 ? { texts: [text], extraTokens: 0 } : { texts: [], extraTokens: 0 };
}

/**
 * The job for an embeddings `input`: a string, or an array of strings, token ids (1 each) or
 * token-id arrays (their length each). Anything else: 0 tokens.
 */
export function embeddingJob(input: unknown): TokenCountJob {
  if (typeof input === 'string') return textJob(input);
  const job: TokenCountJob = { texts: [], extraTokens: 0 };
  if (Array.isArray(input)) {
    for (const item of input) {
      if (typeof item === 'string') {
        if (item.length > 0) job.texts.push(item);
      } else if (typeof item === 'number') job.extraTokens += 1;
      else if (Array.isArray(item)) job.extraTokens += item.length;
    }
  }
  return job;
}

/** UTF-8 bytes of the job's texts. */
export function jobBytes(job: TokenCountJob): number {
  let bytes = 0;
  for (const t of job.texts) bytes += Buffer.byteLength(t, 'utf8');
  return bytes;
}

/** The linear estimate: extraTokens + Σ ceil(UTF-8 bytes / 4) over the texts. */
export function estimateJob(job: TokenCountJob): number {
  let total = job.extraTokens;
  for (const t of job.texts) total += estimateTextTokens(t);
  return total;
}

/** Counts the job with the tokenizer, chunked (linear time). Runs on the calling thread. */
export function runCountJob(job: TokenCountJob): number {
  let total = job.extraTokens;
  for (const t of job.texts) total += countTextBounded(t, countPiece, job.limits ?? DEFAULT_CHUNK_LIMITS);
  return total;
}

/**
 * Counts the job on the calling thread: with the tokenizer up to `maxBytes` UTF-8 bytes of
 * text in total, else the linear estimate (estimateJob).
 */
export function countJobSync(job: TokenCountJob, maxBytes: number = DEFAULT_MAX_COUNT_BYTES): number {
  if (job.texts.length === 0) return job.extraTokens;
  return jobBytes(job) > maxBytes ? estimateJob(job) : runCountJob(job);
}

/**
 * Counts the prompt tokens of a chat request (promptJob) on the calling thread. Used by the
 * bundled dev upstream so both sides count the same way; the api uses TokenCounterService.
 * @returns tokens (integer ≥ 0)
 */
export function countPromptTokens(messages: readonly ChatMessageLike[]): number {
  return countJobSync(promptJob(messages));
}

/** Counts the tokens of plain text (a completion, an embedding input) on the calling thread. */
export function countTextTokens(text: string): number {
  return countJobSync(textJob(text));
}

/** Counts the tokens of an embeddings `input` (embeddingJob) on the calling thread. */
export function countEmbeddingInputTokens(input: unknown): number {
  return countJobSync(embeddingJob(input));
}

/** Whether this thread has loaded gpt-tokenizer (a count ran here). */
export function isTokenizerLoaded(): boolean {
  return tokenizer !== undefined;
}

let tokenizer: typeof GptTokenizer | undefined;

/**
 * Text containing special-token strings (`<|endoftext|>`…) is counted as ordinary text, as
 * OpenAI does for user content; gpt-tokenizer's default would throw on it.
 */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

function countPiece(text: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use only (costs ~0.5 s); most calls never count
  tokenizer ??= require('gpt-tokenizer') as typeof GptTokenizer;
  return tokenizer.countTokens(text, PLAIN_TEXT);
}
