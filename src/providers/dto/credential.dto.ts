import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export const CREDENTIAL_TYPES = ['api_key'] as const;

/** POST /ai-providers/:providerId/credentials body (docs/api/providers.md "Credentials"). */
export class CreateCredentialDto {
  @IsString()
  @Length(1, 200)
  name: string;

  /** the secret; validated against the provider, stored encrypted, never returned */
  @IsString()
  @Length(1, 4096)
  value: string;

  @IsOptional()
  @IsIn(CREDENTIAL_TYPES)
  credentialType?: string;

  /** relative share of the provider's traffic (default 100) */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  weight?: number;

  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

/** PUT /ai-providers/:providerId/credentials/:credentialId body: any subset. */
export class UpdateCredentialDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  /** a new secret: validated against the provider before it replaces the old one */
  @IsOptional()
  @IsString()
  @Length(1, 4096)
  value?: string;

  @IsOptional()
  @IsIn(CREDENTIAL_TYPES)
  credentialType?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  weight?: number;

  @IsOptional()
  @IsBoolean()
  active?: boolean;
}
