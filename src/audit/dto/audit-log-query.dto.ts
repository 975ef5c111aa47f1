import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

/**
 * Filters of GET /admin/audit-logs and its export (docs/audit-log.md "Reading the log"). Every
 * filter is optional; empty strings are refused by the patterns below.
 */
export class AuditLogFiltersDto {
  @IsOptional()
  @IsUUID()
  actorUserId?: string;

  @IsOptional()
  @IsUUID()
  actorKeyId?: string;

  /** case-insensitive substring of the actor's email (or login tried) */
  @IsOptional()
  @IsString()
  @MaxLength(320)
  @Matches(/\S/, { message: 'actor must not be empty' })
  actor?: string;

  /** exact action, or a prefix ending in `*` (e.g. `users.*`) */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(/^[^*]+\*?$/, { message: 'action is an action name, or a prefix followed by one *' })
  action?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/\S/, { message: 'targetType must not be empty' })
  targetType?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  @Matches(/\S/, { message: 'targetId must not be empty' })
  targetId?: string;

  @IsOptional()
  @IsIn(['success', 'failure'])
  result?: 'success' | 'failure';

  /** HTTP status answered */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(/\S/, { message: 'requestId must not be empty' })
  requestId?: string;

  /** inclusive lower bound: ISO-8601 or Unix seconds */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  from?: string;

  /** exclusive upper bound: ISO-8601 or Unix seconds */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  to?: string;
}

/** GET /admin/audit-logs: the filters plus keyset paging. */
export class AuditLogListQueryDto extends AuditLogFiltersDto {
  /** rows per page, 1–200 (default 50) */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** `nextCursor` of the previous page (opaque) */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
