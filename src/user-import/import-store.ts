import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SecretBoxService } from '../crypto/secret-box.service';
import { REDIS } from '../redis/redis.tokens';

/** How long an import's status and its result and error files are kept (seconds). */
export const IMPORT_TTL_SECONDS = 3600;

/** Chunks read from Redis per round trip when a file is downloaded. */
const READ_PAGE = 50;

/** The status of an import, as GET /admin/users/import/:importId answers it. */
export interface ImportStatus {
  importId: string;
  /** the user who ran it: the only one who may read it */
  ownerId: string;
  mode: string;
  dryRun: boolean;
  state: 'running' | 'done' | 'failed';
  /** data rows handled so far */
  rowsProcessed: number;
  /** data rows in the file (known after the first pass) */
  rowsTotal: number;
  startedAt: string;
  finishedAt: string | null;
}

export type ImportFileKind = 'result' | 'error';

/**
 * Where an import keeps its status and its two CSV files for IMPORT_TTL_SECONDS (docs/api/user-import.md
 * "Result and error files"): Redis, under `<QUEUE_PREFIX>:user-import:<importId>:*`. Each file is a
 * list of CSV chunks (one per batch), so neither writing nor downloading holds a whole file in
 * memory. Result chunks carry new keys' secrets and are sealed with the SecretBoxService
 * (AES-256-GCM) before they reach Redis; error chunks hold no secret and are stored as they are.
 */
@Injectable()
export class ImportStore {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly box: SecretBoxService,
  ) {}

  private key(importId: string, part: 'status' | ImportFileKind): string {
    return `${this.config.queuePrefix}:user-import:${importId}:${part}`;
  }

  /** Records a new import as running. */
  async begin(status: ImportStatus): Promise<void> {
    await this.redis.set(this.key(status.importId, 'status'), JSON.stringify(status), 'EX', IMPORT_TTL_SECONDS);
  }

  /** Replaces the stored status (progress after each batch, the end). */
  async update(status: ImportStatus): Promise<void> {
    await this.begin(status);
  }

  /** The status of an import, or null when unknown or expired. */
  async status(importId: string): Promise<ImportStatus | null> {
    const raw = await this.redis.get(this.key(importId, 'status'));
    return raw ? (JSON.parse(raw) as ImportStatus) : null;
  }

  /** Appends a CSV chunk (rows without the header) to one of the import's files. */
  async append(importId: string, kind: ImportFileKind, csvChunk: string): Promise<void> {
    if (csvChunk === '') return;
    const k = this.key(importId, kind);
    const stored = kind === 'result' ? this.box.encrypt(csvChunk) : csvChunk;
    await this.redis.multi().rpush(k, stored).expire(k, IMPORT_TTL_SECONDS).exec();
  }

  /** The chunks of a file in order, opened again where sealed. */
  async *chunks(importId: string, kind: ImportFileKind): AsyncGenerator<string> {
    const k = this.key(importId, kind);
    for (let start = 0; ; start += READ_PAGE) {
      const page = await this.redis.lrange(k, start, start + READ_PAGE - 1);
      for (const c of page) yield kind === 'result' ? this.box.decrypt(c) : c;
      if (page.length < READ_PAGE) return;
    }
  }
}
