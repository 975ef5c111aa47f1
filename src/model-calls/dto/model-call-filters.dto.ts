import { Paged } from '../../common/dto/page-query.dto';
import { Allow, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { IsAfter, MAX_UNIX_SECONDS, ToBoolean, ToUnixSeconds } from './unix-time';

/**
 * `status` filter values (docs/api/model-calls.md): success | failed | all, and `aborted`, which
 * Tollgate also records (the client left mid-stream, billed for what it was sent). `failed` means "did not complete
 * normally" and so matches failed AND aborted; `aborted` alone is accepted as an extension.
 */
export const STATUS_FILTERS = ['success', 'failed', 'aborted', 'all'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** Filters of GET /user/model-calls and its CSV export (docs/api/model-calls.md). Times: Unix seconds, [startTime, endTime). */
export class ModelCallFiltersDto {
  @IsOptional()
  @ToUnixSeconds()
  @IsInt()
  @Min(0)
  @Max(MAX_UNIX_SECONDS)
  startTime?: number;

  @IsOptional()
  @ToUnixSeconds()
  @IsInt()
  @Min(0)
  @Max(MAX_UNIX_SECONDS)
  @IsAfter('startTime')
  endTime?: number;

  /** Matches a request id or call id exactly, or part of the model, app DID (and, with allUsers, user email, name or DID). */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @IsOptional()
  @IsIn(STATUS_FILTERS)
  status?: StatusFilter;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IsOptional()
  @IsUUID()
  providerId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  appDid?: string;

  /** Admin only: every user's calls. */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  allUsers?: boolean;
}

/**
 * GET /user/model-calls: the filters plus page (≥ 1, default 1) and pageSize (1–100, default 50),
 * or `cursor`: the `nextCursor` of a previous answer (keyset paging; `page` is then ignored).
 */
export class ListModelCallsDto extends Paged(ModelCallFiltersDto) {
  /** Opaque: a `nextCursor` of this endpoint. Rows strictly after it (newest first); 400 `invalid_cursor` otherwise. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/**
 * GET /user/model-calls/export: the list's filters. `page`, `pageSize` and `cursor` are accepted and ignored
 * (not validated), so a dashboard can reuse the list's query string for the export.
 */
export class ExportModelCallsDto extends ModelCallFiltersDto {
  @Allow()
  page?: unknown;

  @Allow()
  pageSize?: unknown;

  @Allow()
  cursor?: unknown;
}
