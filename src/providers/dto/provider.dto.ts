import { IsBoolean, IsOptional, IsString, IsUrl, Length, Matches } from 'class-validator';

/** Provider names appear in model keys ("openai/gpt-4o"): lower case, no slash. */
const PROVIDER_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const URL_OPTIONS = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

/** POST /ai-providers body (docs/api/providers.md "Providers"). */
export class CreateProviderDto {
  @IsString()
  @Length(1, 64)
  @Matches(PROVIDER_NAME, { message: 'name must be lower case letters, digits, ".", "_" or "-" (it is used in model keys provider/model)' })
  name: string;

  @IsString()
  @Length(1, 200)
  displayName: string;

  /** OpenAI-compatible base URL including the version path, e.g. https://api.openai.com/v1 */
  @IsUrl(URL_OPTIONS)
  @Length(1, 2000)
  baseUrl: string;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** PUT /ai-providers/:id body: any subset of the fields. */
export class UpdateProviderDto {
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(PROVIDER_NAME, { message: 'name must be lower case letters, digits, ".", "_" or "-" (it is used in model keys provider/model)' })
  name?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  displayName?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS)
  @Length(1, 2000)
  baseUrl?: string;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}
