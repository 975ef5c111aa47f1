import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ChunkLimits, DEFAULT_CHUNK_LIMITS } from './token-chunking';
import {
  ChatMessageLike,
  DEFAULT_MAX_COUNT_BYTES,
  embeddingJob,
  estimateJob,
  isTokenizerLoaded,
  jobBytes,
  promptJob,
  runCountJob,
  TokenCountJob,
  textJob,
} from './token-counter';

/** Injection token of the TokenizerOptions TokenCounterService reads (all fields optional). */
export const TOKENIZER_OPTIONS = Symbol('TOKENIZER_OPTIONS');

/** Settings of TokenCounterService; every field has a default. */
export interface TokenizerOptions {
  /**
   * Worker threads that count (default 1). 0: no pool, every count runs on the calling thread
   * (still linear, but it blocks the event loop for the duration of a large count).
   */
  threads?: number;
  /**
   * Past this many UTF-8 bytes of text in one count (all messages of a prompt, all strings of an
   * embeddings input), the count is the estimate ceil(bytes / 4) per text instead (default 4 MiB).
   */
  maxBytes?: number;
  /**
   * Counts of at most this many bytes run on the calling thread, if gpt-tokenizer is already
   * loaded there (default 512; the service never loads it on the calling thread itself).
   */
  inlineBytes?: number;
  /**
   * An idle worker thread exits after this long, freeing most of its memory (55-75 MB resident,
   * token-count.worker.ts; default 60000 ms).
   */
  idleTimeoutMs?: number;
  /** Worker entry file; default resolveWorkerEntry() next to this file. For tests. */
  workerFile?: string;
  /** Chunking limits (default DEFAULT_CHUNK_LIMITS). For tests. */
  chunkLimits?: ChunkLimits;
}

export interface ResolvedTokenizerOptions {
  threads: number;
  maxBytes: number;
  inlineBytes: number;
  idleTimeoutMs: number;
  workerFile: string | null;
  chunkLimits: ChunkLimits;
}

/** How many counts went which way since the service started. */
export interface TokenCountStats {
  /** Counted by a worker thread. */
  worker: number;
  /** Counted on the calling thread: small input with the tokenizer loaded, or threads = 0. */
  inline: number;
  /** Larger than maxBytes: estimated. */
  estimated: number;
  /** The pool failed (no worker file, a worker error): counted on the calling thread. */
  fallback: number;
}

export const TOKENIZER_DEFAULTS: Readonly<Omit<ResolvedTokenizerOptions, 'workerFile' | 'chunkLimits'>> = Object.freeze({
  threads: 1,
  maxBytes: DEFAULT_MAX_COUNT_BYTES,
  inlineBytes: 512,
  idleTimeoutMs: 60_000,
});

/**
 * The worker entry for the pool: the compiled `token-count.worker.js` next to this file (a build,
 * `node dist/src/main.js`); else, when running from the TypeScript sources (ts-jest),
 * `token-count.worker.source.js`, which compiles the worker's .ts on load with the `typescript`
 * package; else null (counts then run on the calling thread).
 */
export function resolveWorkerEntry(dir: string = __dirname): { file: string; kind: 'compiled' | 'source' } | null {
  const compiled = join(dir, 'token-count.worker.js');
  if (existsSync(compiled)) return { file: compiled, kind: 'compiled' };
  const source = join(dir, 'token-count.worker.source.js');
  if (existsSync(source) && existsSync(join(dir, 'token-count.worker.ts')) && canResolve('typescript'))
    return { file: source, kind: 'source' };
  return null;
}

export function resolveTokenizerOptions(options: TokenizerOptions = {}): ResolvedTokenizerOptions {
  const int = (name: keyof typeof TOKENIZER_DEFAULTS, min: number, max: number): number => {
    const v = options[name] ?? TOKENIZER_DEFAULTS[name];
    if (!Number.isInteger(v) || v < min || v > max)
      throw new RangeError(`tokenizer option ${name} must be an integer in [${min}, ${max}], got ${v}`);
    return v;
  };
  return {
    threads: int('threads', 0, 64),
    maxBytes: int('maxBytes', 0, 1024 * 1024 * 1024),
    inlineBytes: int('inlineBytes', 0, 1024 * 1024 * 1024),
    idleTimeoutMs: int('idleTimeoutMs', 0, 24 * 3600 * 1000),
    workerFile: options.workerFile ?? resolveWorkerEntry()?.file ?? null,
    chunkLimits: options.chunkLimits ?? DEFAULT_CHUNK_LIMITS,
  };
}

/**
 * Counts tokens (o200k_base, ChatML framing for chat) off the event loop: a piscina pool of
 * `threads` worker threads, created on the first count that needs it and emptied after
 * `idleTimeoutMs` without work. Every count is linear in its input (token-chunking.ts); past
 * `maxBytes` it is a linear estimate. See docs/metering.md.
 */
@Injectable()
export class TokenCounterService implements OnModuleDestroy {
  private readonly log = new Logger(TokenCounterService.name);
  readonly options: ResolvedTokenizerOptions;
  private pool: Piscina<TokenCountJob, number> | null = null;
  private closed = false;
  private warnedNoWorker = false;
  private readonly counts: TokenCountStats = { worker: 0, inline: 0, estimated: 0, fallback: 0 };

  constructor(@Optional() @Inject(TOKENIZER_OPTIONS) options?: TokenizerOptions | null) {
    this.options = resolveTokenizerOptions(options ?? {});
  }

  /** Prompt tokens of a chat request, framed as countPromptTokens frames them. */
  countPrompt(messages: readonly ChatMessageLike[]): Promise<number> {
    return this.count(promptJob(messages));
  }

  /** Tokens of plain text (a completion). */
  countText(text: string): Promise<number> {
    return this.count(textJob(text));
  }

  /** Tokens of an embeddings `input` (string, strings, token ids, token-id arrays). */
  countEmbeddingInput(input: unknown): Promise<number> {
    return this.count(embeddingJob(input));
  }

  /** How many counts went which way (a copy). */
  get stats(): TokenCountStats {
    return { ...this.counts };
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.destroy();
  }

  private async count(job: TokenCountJob): Promise<number> {
    if (job.texts.length === 0) return job.extraTokens;
    const bytes = jobBytes(job);
    if (bytes > this.options.maxBytes) {
      this.counts.estimated++;
      return estimateJob(job);
    }
    const limited: TokenCountJob = this.options.chunkLimits === DEFAULT_CHUNK_LIMITS ? job : { ...job, limits: this.options.chunkLimits };
    if (this.options.threads === 0 || (bytes <= this.options.inlineBytes && isTokenizerLoaded())) {
      this.counts.inline++;
      return runCountJob(limited);
    }
    const pool = this.getPool();
    if (pool) {
      try {
        const tokens = await pool.run(limited);
        this.counts.worker++;
        return tokens;
      } catch (err) {
        if (!this.closed)
          this.log.warn(`token count failed on the worker thread, counting on the main thread: ${(err as Error)?.message ?? err}`);
      }
    }
    this.counts.fallback++;
    return runCountJob(limited);
  }

  private getPool(): Piscina<TokenCountJob, number> | null {
    if (this.pool || this.closed) return this.pool;
    const filename = this.options.workerFile;
    if (!filename || !existsSync(filename)) {
      if (!this.warnedNoWorker) {
        this.warnedNoWorker = true;
        this.log.error(`no token-count worker (${filename ?? 'none found'}): counting on the main thread`);
      }
      return null;
    }
    this.pool = new Piscina<TokenCountJob, number>({
      filename,
      minThreads: 0,
      maxThreads: this.options.threads,
      idleTimeout: this.options.idleTimeoutMs,
    });
    this.pool.on('error', (err: unknown) => this.log.error(`token-count worker: ${(err as Error)?.message ?? err}`));
    return this.pool;
  }
}

function canResolve(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}
