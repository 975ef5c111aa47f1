import { IsInt, Max, Min } from 'class-validator';
import { IsAfter, MAX_UNIX_SECONDS, ToUnixSeconds } from './unix-time';

/** GET /user/usage-stats and /user/admin/user-stats: both required, Unix seconds, [startTime, endTime). */
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
  endTime!: number;
}
