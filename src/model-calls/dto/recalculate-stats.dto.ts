import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { ToBoolean } from './unix-time';
import { UsageStatsQueryDto } from './usage-stats-query.dto';

/** POST /user/recalculate-stats body (docs/api/model-calls.md). Times: Unix seconds (strings or numbers). */
export class RecalculateStatsDto extends UsageStatsQueryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userDid!: string;

  /** true: count what would change, change nothing. */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  dryRun?: boolean;
}
