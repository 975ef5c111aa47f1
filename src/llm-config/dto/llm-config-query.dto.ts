import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { ToBoolean } from '../../model-calls/dto/unix-time';

/** Query of GET/HEAD /v1/users/:platform/:username/llm-config (docs/api/llm-config.md). */
export class LlmConfigQueryDto {
  /** keep `system_prompt` in the answer (default true) */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  include_system_prompt?: boolean;

  /** mask `llm_config.openai.api_key` as `sk-proj-****...****abcd` (default false) */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  mask?: boolean;
}

/** One user of a batch; platform and username are checked by the service (INVALID_PLATFORM / INVALID_USERNAME). */
export class LlmConfigBatchUserDto {
  @IsString()
  @MaxLength(255)
  platform: string;

  @IsString()
  @MaxLength(255)
  username: string;
}

/**
 * Body of POST /v1/users/llm-configs/batch. `users` holds at most LLM_CONFIG_BATCH_MAX_USERS
 * (checked by the controller, 400 INVALID_REQUEST); the DTO bounds it at 1000, the setting's ceiling.
 */
export class LlmConfigBatchDto {
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => LlmConfigBatchUserDto)
  users: LlmConfigBatchUserDto[];

  /** default true */
  @IsOptional()
  @IsBoolean()
  include_system_prompt?: boolean;

  /** default false */
  @IsOptional()
  @IsBoolean()
  mask?: boolean;
}
