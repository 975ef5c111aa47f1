import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { ToBoolean } from '../../model-calls/dto/unix-time';
import { IMPORT_MODES, ImportMode } from '../import-row';

/** Query of POST /admin/users/import (docs/api/user-import.md). */
export class ImportQueryDto {
  /** add | delete | sync */
  @IsIn(IMPORT_MODES)
  mode: ImportMode;

  /** true: report what would change and write nothing (default false) */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  dryRun?: boolean;

  /** role for rows whose role cell is empty (Tollgate or LiteLLM name; default member) */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  defaultRole?: string;
}

/** Query of GET /admin/users/export. */
export class ExportUsersQueryDto {
  /** one row per key with the key columns (never a secret); default false */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  includeKeys?: boolean;

  /** only users with this role (Tollgate or LiteLLM name) */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  role?: string;

  @IsOptional()
  @IsIn(['active', 'disabled'])
  status?: 'active' | 'disabled';
}

/** Path of GET /admin/users/import/:importId and its files. */
export class ImportIdParamDto {
  @IsUUID()
  importId: string;
}
