import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { callerScope } from './call-filters';
import { CallExportService } from './call-export.service';
import { CallListService, ModelCallPage } from './call-list.service';
import { ExportModelCallsDto, ListModelCallsDto } from './dto/model-call-filters.dto';

/** The call log: its list and its CSV export (docs/api/model-calls.md). */
@Controller('user')
export class ModelCallsController {
  constructor(
    private readonly calls: CallListService,
    private readonly exporter: CallExportService,
  ) {}

  /**
   * GET /user/model-calls → `{count, totalIsEstimate, list, paging:{page, pageSize}, nextCursor}`,
   * newest first ((createdAt, id) descending). `count` is exact when `totalIsEstimate` is false;
   * true only when more than 1,000 calls match a search, providerId or appDid filter (then it is
   * the planner's estimate). `nextCursor` (null on the last page) is passed back as `cursor` for
   * the next page (keyset paging, any depth at the same cost; `page` is then ignored). Each item:
   * id, requestId, userDid, model, type (chat|embedding|image), status (success|failed|aborted),
   * inputTokens/outputTokens/totalUsage (tokens), credits (credits, number), duration (ms),
   * createdAt (ISO), appDid, appInfo ({appName, appDid, appLogo, appUrl}; no apps registry yet, so
   * only appDid is set; null without appDid), userInfo ({did, fullName, email, avatar}).
   * Query: page (≥1), pageSize (1–100, default 50), startTime/endTime (Unix s, [start, end)),
   * search, status (success | failed = failed+aborted | aborted | all), model, providerId (uuid),
   * appDid, allUsers (admin only), cursor. A user sees only their own calls.
   * Errors: 401; 403 `forbidden` (allUsers without admin) / `insufficient_scope` (API key without
   * usage:read); 400 `validation_failed` with `errors[].field`; 400 `invalid_cursor` (field cursor).
   */
  @Get('model-calls')
  @Auth({ scope: 'usage:read' })
  list(@CurrentUser() user: AuthUser, @Query() q: ListModelCallsDto): Promise<ModelCallPage> {
    return this.calls.list(callerScope(user, q.allUsers), q);
  }

  /**
   * GET /user/model-calls/export → text/csv (attachment model-calls.csv), header row
   * `Timestamp,Request ID,User DID,User Name,User Email,Model,Provider,Type,Status,Input Tokens,
   * Output Tokens,Total Usage,Credits,Duration(ms),App DID`; tokens, credits, ms. Same filters and
   * errors as the list; `page`/`pageSize`/`cursor` are accepted and ignored (the list's query string can
   * be reused); at most MODEL_CALLS_EXPORT_MAX_ROWS rows (default 10,000), newest first; text
   * cells starting with = + - @ tab or CR get a leading apostrophe. The export counts against the
   * caller's own user id (an admin's allUsers export too) for MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER.
   * Errors besides the list's: 429 `too_many_concurrent_exports` (Retry-After: 5) when the caller
   * already has that many exports running in this api process; 503 `too_many_concurrent_exports`
   * (Retry-After: 5) when the process has MODEL_CALLS_EXPORT_MAX_CONCURRENT running.
   */
  @Get('model-calls/export')
  @Auth({ scope: 'usage:read' })
  export(@CurrentUser() user: AuthUser, @Query() q: ExportModelCallsDto): StreamableFile {
    const { page: _page, pageSize: _pageSize, cursor: _cursor, ...filters } = q;
    const stream = this.exporter.export(callerScope(user, q.allUsers), filters, user.id);
    return new StreamableFile(stream, { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="model-calls.csv"' });
  }
}
