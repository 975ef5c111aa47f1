import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { AuthUser } from '../auth/auth-user';
import { DomainError } from '../common/domain-error';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { RecalculateStatsDto } from './dto/recalculate-stats.dto';
import { UsageStatsQueryDto } from './dto/usage-stats-query.dto';
import { RecalculationResponse, StatsRecalculationService } from './stats-recalculation.service';
import { UsageStats, UsageStatsService } from './usage-stats.service';

/** Usage statistics: own usage, all users' usage (admin), recalculation (admin) (docs/api/model-calls.md). */
@Controller('user')
export class UsageStatsController {
  constructor(
    private readonly stats: UsageStatsService,
    private readonly recalculation: StatsRecalculationService,
    private readonly audit: AuditService,
  ) {}

  /**
   * GET /user/usage-stats?startTime&endTime (Unix s, required, [start, end)) → the caller's
   * `{summary:{byType (calls per chat|embedding|image), totalCalls, totalCredits (credits),
   * modelCount, totalUsage (tokens)}, dailyStats:[{date (UTC YYYY-MM-DD), credits, calls}],
   * modelStats:[{model, totalCalls, totalCredits}], trendComparison:{totalCredits, totalCalls:
   * {current, previous, change ("12.23" percent)}}}`; previous = the period of equal length just
   * before. Every call counts (success, failed, aborted); credits are what was charged.
   * Errors: 401; 403 `insufficient_scope`; 400 `validation_failed` (field startTime/endTime).
   */
  @Get('usage-stats')
  @Auth({ scope: 'usage:read' })
  usage(@CurrentUser() user: AuthUser, @Query() q: UsageStatsQueryDto): Promise<UsageStats> {
    return this.stats.stats(user.id, q.startTime, q.endTime);
  }

  /** GET /user/admin/user-stats?startTime&endTime: the same shape over every user. Admin; 403 `forbidden` otherwise. */
  @Get('admin/user-stats')
  @Auth({ admin: true })
  allUsers(@Query() q: UsageStatsQueryDto): Promise<UsageStats> {
    return this.stats.stats(null, q.startTime, q.endTime);
  }

  /**
   * POST /user/recalculate-stats `{userDid, startTime, endTime (Unix s), dryRun?}` → `{message,
   * deleted, success, failed}`: rebuilds the user's hourly aggregates overlapping the range from
   * the call log (a job on the worker; this waits for it). deleted = hourly buckets removed,
   * success = hourly buckets rebuilt, failed = 0 (the rebuild is one transaction). dryRun: counts
   * only. Admin. Errors: 403 `forbidden`; 400 `validation_failed`; 404 `user_not_found`;
   * 504 `stats_recalculation_timeout`; 500 `stats_recalculation_failed`.
   * Audited: one `stats.recalculate` entry (user, range, dryRun, counts; a failure with its status).
   * The rebuild commits in the worker's transaction, so the entry is written by
   * AuditService.record once the job has answered (docs/audit-log.md "Transaction guarantee").
   */
  @Post('recalculate-stats')
  @HttpCode(200)
  @Auth({ admin: true })
  async recalculate(@Body() dto: RecalculateStatsDto, @Audit() audit: AuditContext): Promise<RecalculationResponse> {
    const request = { userDid: dto.userDid, startTime: dto.startTime, endTime: dto.endTime, dryRun: dto.dryRun ?? false };
    try {
      const result = await this.recalculation.recalculate(dto);
      await this.audit.record(audit, {
        action: 'stats.recalculate',
        targetType: 'user',
        targetId: dto.userDid,
        changes: { ...request, deleted: result.deleted, rebuilt: result.success, failed: result.failed },
      });
      return result;
    } catch (err) {
      if (err instanceof DomainError) {
        await this.audit.record(audit, {
          action: 'stats.recalculate',
          targetType: 'user',
          targetId: dto.userDid,
          result: 'failure',
          status: err.status,
          changes: { ...request, error: err.code },
        });
      }
      throw err;
    }
  }
}
