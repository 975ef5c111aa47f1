import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Readable } from 'node:stream';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { isAdminRole } from '../auth/roles';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SecretBoxService } from '../crypto/secret-box.service';
import { UserRole } from '../generated/prisma/enums';
import { KeyCheckService } from '../keys/key-check.service';
import { generateVirtualKeySecret, hashVirtualKeySecret, VIRTUAL_KEY_DISPLAY_LENGTH } from '../keys/virtual-key';
import { PrismaService } from '../prisma/prisma.service';
import { withPoolTransaction } from '../prisma/pool-transaction';
import { generateDid } from '../users/did';
import { csvLines } from './import-csv-out';
import { countRows, readRows, spoolUpload, SpooledFile } from './import-file';
import { checkRow, ImportCaller, ImportMode, isRowError, RowError, ValidRow } from './import-row';
import { ImportStatus, ImportStore } from './import-store';
import { NewKey, NewUser, UserChange, UserImportRepository } from './user-import.repository';

/** Rows written per transaction (one audit entry each). */
export const IMPORT_BATCH_SIZE = 1000;
/** Errors listed in the JSON answer (all of them are in the error file). */
export const ANSWER_MAX_ERRORS = 100;

export interface ImportSummary {
  rows: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  errors: number;
  keysCreated: number;
}

/** The answer of POST /admin/users/import. */
export interface ImportReport {
  importId: string;
  mode: ImportMode;
  dryRun: boolean;
  summary: ImportSummary;
  resultCsvUrl: string;
  errorCsvUrl: string;
  errors: RowError[];
}

export interface ImportRequest {
  mode: ImportMode;
  dryRun: boolean;
  /** role for rows with an empty role cell (add, sync) */
  defaultRole: UserRole;
  caller: ImportCaller;
  audit: AuditContext;
}

type Status = 'created' | 'updated' | 'unchanged' | 'deleted' | 'not_found';

/** One line of the result file. */
interface ResultLine {
  line: number | null;
  email: string;
  role: string;
  teamName: string | null;
  keyName: string | null;
  status: Status;
  userId: string;
  key: string | null;
}

interface BatchOutcome {
  results: ResultLine[];
  errors: RowError[];
  /** users whose role or team changed: their cached keys are dropped after the commit */
  changedUserIds: string[];
  /** users deleted: their cached keys and LLM config answers are dropped after the commit */
  deletedUserIds: string[];
  /** secret hashes of deleted users' keys */
  deletedKeyHashes: string[];
  keysCreated: number;
}

/**
 * Bulk import of users from CSV (docs/api/user-import.md): add, delete or sync, in batches of
 * IMPORT_BATCH_SIZE rows, each batch one transaction with its own audit entry (`users.import`).
 * The upload is spooled to a temporary file and read twice: a first pass checks the header and
 * the row count (so a refused file writes nothing), the second applies the rows. Results and
 * errors go to ImportStore chunk by chunk. A dry run runs every batch and rolls it back, so it
 * reports exactly what would change and leaves nothing behind (no teams, no audit entry).
 */
@Injectable()
export class UserImportService {
  private readonly log = new Logger(UserImportService.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly repo: UserImportRepository,
    private readonly store: ImportStore,
    private readonly audit: AuditService,
    private readonly box: SecretBoxService,
    private readonly keyCheck: KeyCheckService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Runs an import of the uploaded CSV.
   * @throws DomainError 413 `payload_too_large`; 400 `too_many_rows`, `missing_column`, `empty_file`,
   *   `invalid_csv`, `upload_failed` (then nothing was written)
   */
  async run(req: ImportRequest, upload: Readable): Promise<ImportReport> {
    const importId = randomUUID();
    const file = await spoolUpload(upload, this.config.userImport.maxBytes);
    try {
      const rowsTotal = await countRows(file, req.mode, this.config.userImport.maxRows);
      const status: ImportStatus = {
        importId,
        ownerId: req.caller.userId,
        mode: req.mode,
        dryRun: req.dryRun,
        state: 'running',
        rowsProcessed: 0,
        rowsTotal,
        startedAt: new Date().toISOString(),
        finishedAt: null,
      };
      await this.store.begin(status);
      try {
        return await this.applyFile(file, req, status);
      } catch (err) {
        status.state = 'failed';
        status.finishedAt = new Date().toISOString();
        await this.store.update(status).catch(() => undefined);
        throw err;
      }
    } finally {
      await file.remove();
    }
  }

  /** The second pass: every row, batch by batch, then (sync) the deletions. */
  private async applyFile(file: SpooledFile, req: ImportRequest, status: ImportStatus): Promise<ImportReport> {
    const { importId, rowsTotal } = status;
    const summary: ImportSummary = { rows: rowsTotal, created: 0, updated: 0, deleted: 0, unchanged: 0, errors: 0, keysCreated: 0 };
    const firstErrors: RowError[] = [];
    const seen = new Set<string>();
    let batch: ValidRow[] = [];
    let batchNo = 0;
    const rowCtx = {
      mode: req.mode,
      caller: req.caller,
      defaultRole: req.defaultRole,
      allowedEmailDomains: this.config.accounts.allowedEmailDomains,
    };

    const record = async (outcome: BatchOutcome) => {
      for (const r of outcome.results) summary[r.status === 'not_found' ? 'unchanged' : r.status]++;
      summary.errors += outcome.errors.length;
      summary.keysCreated += outcome.keysCreated;
      for (const e of outcome.errors) if (firstErrors.length < ANSWER_MAX_ERRORS) firstErrors.push(e);
      await this.store.append(importId, 'result', await csvLines(outcome.results.map(resultCells)));
      await this.store.append(importId, 'error', await csvLines(outcome.errors.map((e) => [e.line, e.email, e.code, e.reason])));
    };
    const flush = async (preErrors: RowError[]) => {
      batchNo++;
      const rows = batch;
      batch = [];
      const outcome = await this.inBatch(req.dryRun, (c) => this.applyRows(rows, req, importId, batchNo, preErrors.length, c));
      outcome.errors = [...preErrors, ...outcome.errors].sort((a, b) => a.line - b.line);
      await record(outcome);
      await this.afterCommit(req.dryRun, outcome);
      status.rowsProcessed += rows.length + preErrors.length;
      await this.store.update(status);
      this.log.log(
        `user import ${importId} (${req.mode}${req.dryRun ? ', dry run' : ''}): batch ${batchNo}, ` +
          `${status.rowsProcessed}/${rowsTotal} rows, created ${summary.created}, updated ${summary.updated}, ` +
          `deleted ${summary.deleted}, errors ${summary.errors}`,
      );
    };

    let pending: RowError[] = [];
    for await (const row of readRows(file, req.mode)) {
      const checked = row.extraCells
        ? ({
            line: row.line,
            email: (row.record.email ?? '').trim().slice(0, 320),
            code: 'WRONG_COLUMN_COUNT',
            reason: 'More cells than header columns',
          } as RowError)
        : checkRow(row.record, row.line, rowCtx);
      if (isRowError(checked)) pending.push(checked);
      else if (seen.has(checked.email)) {
        pending.push({
          line: checked.line,
          email: checked.email,
          code: 'DUPLICATE_EMAIL',
          reason: 'The email appears on an earlier line of the file',
        });
      } else {
        seen.add(checked.email);
        batch.push(checked);
      }
      if (batch.length + pending.length >= IMPORT_BATCH_SIZE) {
        await flush(pending);
        pending = [];
      }
    }
    if (batch.length || pending.length) await flush(pending);
    if (req.mode === 'sync') await this.deleteAbsent(req, importId, seen, () => ++batchNo, record);

    status.state = 'done';
    status.finishedAt = new Date().toISOString();
    await this.store.update(status);
    const base = `/admin/users/import/${importId}`;
    return {
      importId,
      mode: req.mode,
      dryRun: req.dryRun,
      summary,
      resultCsvUrl: `${base}/result.csv`,
      errorCsvUrl: `${base}/error.csv`,
      errors: firstErrors,
    };
  }

  /** Runs a batch in one transaction; a dry run rolls it back whatever happened. */
  private async inBatch<T>(dryRun: boolean, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    if (!dryRun) return withPoolTransaction(this.prisma.pool, fn);
    const c = await this.prisma.pool.connect();
    try {
      await c.query('BEGIN');
      return await fn(c);
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
  }

  /** Cached keys (and LLM config answers) of changed and deleted users are dropped on every replica (not for a dry run). */
  private async afterCommit(dryRun: boolean, outcome: BatchOutcome): Promise<void> {
    if (dryRun) return;
    await this.keyCheck.invalidateUsers(outcome.changedUserIds);
    await this.keyCheck.invalidateUsers(outcome.deletedUserIds, outcome.deletedKeyHashes);
  }

  /** The rows of one batch (add, sync or delete), inside the batch's transaction, with its audit entry. */
  private async applyRows(
    rows: ValidRow[],
    req: ImportRequest,
    importId: string,
    batchNo: number,
    preErrors: number,
    c: PoolClient,
  ): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { results: [], errors: [], changedUserIds: [], deletedUserIds: [], deletedKeyHashes: [], keysCreated: 0 };
    const callerIsSuper = req.caller.role === 'super_admin';
    const existing = new Map(
      (
        await this.repo.lockUsersByEmail(
          rows.map((r) => r.email),
          c,
        )
      ).map((u) => [u.email, u]),
    );
    const forbidden = (r: ValidRow, role: UserRole) =>
      outcome.errors.push({
        line: r.line,
        email: r.email,
        code: 'ADMIN_ROLE_FORBIDDEN',
        reason: `Only a super_admin may change a user with the role ${role}`,
      });

    if (req.mode === 'delete') {
      const toDelete = new Map<string, ValidRow>();
      for (const r of rows) {
        const u = existing.get(r.email);
        if (!u) outcome.results.push(line(r, { role: '', teamName: null, keyName: null, status: 'not_found', userId: '', key: null }));
        else if (isAdminRole(u.role) && !callerIsSuper) forbidden(r, u.role);
        else toDelete.set(u.id, { ...r, role: u.role });
      }
      const { ids, hashes } = await this.repo.deleteUsers([...toDelete.keys()], req.caller.userId, callerIsSuper, c);
      outcome.deletedUserIds = [...ids];
      outcome.deletedKeyHashes = hashes;
      for (const [id, r] of toDelete) {
        if (ids.has(id))
          outcome.results.push(line(r, { role: r.role, teamName: null, keyName: null, status: 'deleted', userId: id, key: null }));
        else outcome.errors.push({ line: r.line, email: r.email, code: 'NOT_DELETED', reason: 'The user could not be deleted' });
      }
    } else {
      const teamNames = [...new Set(rows.map((r) => r.teamName).filter((n): n is string => n !== null))];
      const teams = await this.repo.teamIds(teamNames, false, c);
      const missingTeams = new Set(teamNames.filter((n) => !teams.has(n)));
      const creates: { row: ValidRow; user: NewUser }[] = [];
      const changes: { row: ValidRow; change: UserChange; teamName: string | null }[] = [];
      const keeps: { row: ValidRow; userId: string; role: UserRole }[] = [];
      for (const r of rows) {
        const u = existing.get(r.email);
        if (!u) {
          creates.push({ row: r, user: { id: randomUUID(), did: generateDid(), email: r.email, role: r.role, teamId: null } });
          continue;
        }
        if (isAdminRole(u.role) && !callerIsSuper) {
          forbidden(r, u.role);
          continue;
        }
        const role = req.mode === 'add' && !r.roleGiven ? u.role : r.role;
        // add leaves the team alone when the cell is empty; sync makes an empty cell mean "no team"
        const keepTeam = req.mode === 'add' && r.teamName === null;
        const teamChanged =
          !keepTeam && (r.teamName === null ? u.team_id !== null : missingTeams.has(r.teamName) || teams.get(r.teamName) !== u.team_id);
        if (role !== u.role || teamChanged) {
          changes.push({
            row: r,
            change: { id: u.id, role, teamId: keepTeam ? u.team_id : null, roleChanged: role !== u.role },
            teamName: keepTeam ? null : r.teamName,
          });
        } else keeps.push({ row: r, userId: u.id, role });
      }
      // teams are created only for rows that will be written
      const neededTeams = [...new Set([...creates.map((x) => x.row.teamName), ...changes.map((x) => x.teamName)])].filter(
        (n): n is string => n !== null && missingTeams.has(n),
      );
      for (const [name, id] of await this.repo.teamIds(neededTeams, true, c)) teams.set(name, id);
      for (const x of creates) x.user.teamId = x.row.teamName ? (teams.get(x.row.teamName) ?? null) : null;
      for (const x of changes) if (x.teamName !== null) x.change.teamId = teams.get(x.teamName) ?? null;

      const inserted = await this.repo.insertUsers(
        creates.map((x) => x.user),
        c,
      );
      await this.repo.updateUsers(
        changes.map((x) => x.change),
        c,
      );
      outcome.changedUserIds = changes.map((x) => x.change.id);

      // keys: a new user with key_name gets one; an existing user only if no live key has that name
      const keyRows = [...creates.filter((x) => inserted.has(x.user.id)).map((x) => ({ row: x.row, userId: x.user.id }))];
      const existingWithKey = [
        ...changes.map((x) => ({ row: x.row, userId: x.change.id })),
        ...keeps.map((x) => ({ row: x.row, userId: x.userId })),
      ].filter((x) => x.row.keyName !== null);
      const live = await this.repo.liveKeyNames(
        existingWithKey.map((x) => x.userId),
        [...new Set(existingWithKey.map((x) => x.row.keyName!))],
        c,
      );
      const secrets = new Map<string, string>();
      const newKeys: NewKey[] = [];
      for (const x of [...keyRows, ...existingWithKey]) {
        if (x.row.keyName === null || live.has(`${x.userId}\u0000${x.row.keyName}`)) continue;
        const secret = generateVirtualKeySecret();
        secrets.set(x.userId, secret);
        newKeys.push({
          id: randomUUID(),
          userId: x.userId,
          name: x.row.keyName,
          prefix: secret.slice(0, VIRTUAL_KEY_DISPLAY_LENGTH),
          secretHash: hashVirtualKeySecret(secret),
          encryptedSecret: this.box.encrypt(secret),
        });
      }
      await this.repo.insertKeys(newKeys, c);
      outcome.keysCreated = newKeys.length;
      const keyOf = (userId: string) => (req.dryRun ? null : (secrets.get(userId) ?? null));

      for (const x of creates) {
        if (!inserted.has(x.user.id)) {
          outcome.errors.push({
            line: x.row.line,
            email: x.row.email,
            code: 'CONCURRENT_CHANGE',
            reason: 'The user was created meanwhile; run the file again',
          });
          continue;
        }
        outcome.results.push(line(x.row, { role: x.row.role, status: 'created', userId: x.user.id, key: keyOf(x.user.id) }));
      }
      for (const x of changes)
        outcome.results.push(line(x.row, { role: x.change.role, status: 'updated', userId: x.change.id, key: keyOf(x.change.id) }));
      for (const x of keeps) {
        const keyAdded = secrets.has(x.userId);
        outcome.results.push(
          line(x.row, { role: x.role, status: keyAdded ? 'updated' : 'unchanged', userId: x.userId, key: keyOf(x.userId) }),
        );
      }
      outcome.results.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    }
    await this.audit.inTransaction(c, req.audit, {
      action: 'users.import',
      targetType: 'user_import',
      targetId: importId,
      changes: {
        mode: req.mode,
        batch: batchNo,
        rows: rows.length + preErrors,
        ...countOf(outcome),
        errors: outcome.errors.length + preErrors,
        keysCreated: outcome.keysCreated,
      },
    });
    return outcome;
  }

  /**
   * Sync's last step: deletes the member-level users whose email is not in the file (never
   * admin-level users, never the caller), IMPORT_BATCH_SIZE per transaction.
   */
  private async deleteAbsent(
    req: ImportRequest,
    importId: string,
    inFile: Set<string>,
    nextBatch: () => number,
    record: (o: BatchOutcome) => Promise<void>,
  ): Promise<void> {
    let after: string | null = null;
    const reader = await this.prisma.pool.connect();
    try {
      for (;;) {
        const page = await this.repo.syncDeletionCandidates(after, IMPORT_BATCH_SIZE, req.caller.userId, reader);
        if (page.length === 0) break;
        after = page[page.length - 1].id;
        const absent = page.filter((u) => !inFile.has(u.email));
        if (absent.length === 0) continue;
        const batchNo = nextBatch();
        const outcome = await this.inBatch(req.dryRun, async (c) => {
          const { ids, hashes } = await this.repo.deleteUsers(
            absent.map((u) => u.id),
            req.caller.userId,
            false,
            c,
          );
          const o: BatchOutcome = {
            results: absent
              .filter((u) => ids.has(u.id))
              .map((u) => ({
                line: null,
                email: u.email,
                role: u.role,
                teamName: u.team_name,
                keyName: null,
                status: 'deleted' as const,
                userId: u.id,
                key: null,
              })),
            errors: [],
            changedUserIds: [],
            deletedUserIds: [...ids],
            deletedKeyHashes: hashes,
            keysCreated: 0,
          };
          await this.audit.inTransaction(c, req.audit, {
            action: 'users.import',
            targetType: 'user_import',
            targetId: importId,
            changes: { mode: req.mode, batch: batchNo, rows: 0, ...countOf(o), errors: 0, keysCreated: 0 },
          });
          return o;
        });
        await record(outcome);
        await this.afterCommit(req.dryRun, outcome);
        this.log.log(
          `user import ${importId} (sync${req.dryRun ? ', dry run' : ''}): batch ${batchNo}, ${outcome.results.length} users absent from the file deleted`,
        );
      }
    } finally {
      reader.release();
    }
  }
}

function line(r: ValidRow, v: Partial<ResultLine> & Pick<ResultLine, 'status' | 'userId'>): ResultLine {
  return {
    line: r.line,
    email: r.email,
    role: v.role ?? r.role,
    teamName: v.teamName !== undefined ? v.teamName : r.teamName,
    keyName: v.keyName !== undefined ? v.keyName : r.keyName,
    status: v.status,
    userId: v.userId,
    key: v.key ?? null,
  };
}

function countOf(o: BatchOutcome): { created: number; updated: number; deleted: number; unchanged: number } {
  const n = { created: 0, updated: 0, deleted: 0, unchanged: 0 };
  for (const r of o.results) n[r.status === 'not_found' ? 'unchanged' : r.status]++;
  return n;
}

function resultCells(r: ResultLine): (string | number | null)[] {
  return [r.line ?? '', r.email, r.role, r.teamName, r.keyName, r.status, r.userId, r.key];
}
