import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

/** Providers a profile can name (docs/api/llm-config.md "Profiles"). */
export const LLM_PROVIDERS = ['openai', 'lmstudio', 'ollama', 'tollgate'] as const;

/** Largest system prompt (characters). */
export const SYSTEM_PROMPT_MAX_CHARS = 65_536;

const URL_OPTIONS = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

/** openai: any OpenAI-compatible endpoint. `apiKey` omitted on PUT keeps the stored one. */
export class OpenAiSettingsDto {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  apiKey?: string;

  @IsUrl(URL_OPTIONS)
  @MaxLength(2048)
  baseUrl: string;

  @IsString()
  @MinLength(1)
  @MaxLength(255)
  model: string;

  /** tokens */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  maxToken: number;
}

/** lmstudio: `baseUrl` as LM Studio clients take it (`localhost:1234` or a URL). */
export class LmStudioSettingsDto {
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  baseUrl: string;

  /** tokens */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  contextLength: number;

  @IsString()
  @MinLength(1)
  @MaxLength(255)
  model: string;
}

/** ollama. */
export class OllamaSettingsDto {
  @IsUrl(URL_OPTIONS)
  @MaxLength(2048)
  endpoint: string;

  @IsString()
  @MinLength(1)
  @MaxLength(255)
  model: string;

  /** tokens */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  maxToken: number;
}

/** tollgate: this gateway, with one of the user's own virtual keys. */
export class TollgateSettingsDto {
  /** id of an active key of the profile's user whose secret is kept */
  @IsUUID()
  keyId: string;

  /** a model name the gateway routes (docs/api/gateway.md) */
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  model: string;

  /** tokens */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  maxToken: number;
}

/** Body of PUT /admin/users/:id/llm-profile: the whole profile; exactly the block of `provider`. */
export class PutLlmProfileDto {
  @IsIn(LLM_PROVIDERS)
  provider: (typeof LLM_PROVIDERS)[number];

  /** default true */
  @IsOptional()
  @IsBoolean()
  functionCalling?: boolean;

  /** default "" */
  @IsOptional()
  @IsString()
  @MaxLength(SYSTEM_PROMPT_MAX_CHARS)
  systemPrompt?: string;

  /** most LLM round trips per task (default 1000) */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxLlmProcessNum?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => OpenAiSettingsDto)
  openai?: OpenAiSettingsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => LmStudioSettingsDto)
  lmstudio?: LmStudioSettingsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => OllamaSettingsDto)
  ollama?: OllamaSettingsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TollgateSettingsDto)
  tollgate?: TollgateSettingsDto;
}

/** Body of POST /admin/users/:id/identities. */
export class CreateIdentityDto {
  /** github | gitlab */
  @IsString()
  @MaxLength(32)
  platform: string;

  /** the platform's username rules (docs/api/llm-config.md "Platforms and usernames") */
  @IsString()
  @MaxLength(255)
  username: string;
}
