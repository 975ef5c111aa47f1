import { IsInt, Max, Min } from 'class-validator';
import { IsAfter, MAX_UNIX_SECONDS, PreviousPeriodRepresentable, ToUnixSeconds } from './unix-time';

/**
 * GET /user/usage-stats and /user/admin/user-stats: both required, Unix seconds, [startTime, endTime),
 * 0 ≤ startTime < endTime ≤ 253402300799 (year 9999), and the previous period of equal length must
 * start on or after year 1 (endTime − startTime ≤ startTime + 62135596800).
 */
export class UsageStatsQueryDto {
  @ToUnixSeconds()
  @IsInt()
  @Min(0)
  @Max(MAX_UNIX_SECONDS)
  startTime!: number;

  @ToUnixSeconds()
  @IsInt()
  @Min(0)
  @Max(MAX_UNIX_SECONDS)
  @IsAfter('startTime')
  @PreviousPeriodRepresentable('startTime')
  endTime!: number;
}
