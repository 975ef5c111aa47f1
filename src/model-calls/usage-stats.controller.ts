import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { AuthUser } from '../auth/auth-user';
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
   */
  @Post('recalculate-stats')
  @HttpCode(200)
  @Auth({ admin: true })
  recalculate(@Body() dto: RecalculateStatsDto): Promise<RecalculationResponse> {
    return this.recalculation.recalculate(dto);
  }
}
