import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords';
import { FULL_NAME_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../../users/user-rules';

/**
 * POST /api/toiee/users body. Every field is optional here so that a missing one answers this
 * API's 400 INVALID_INPUT "Email, name, and username are required" (checked by the controller).
 */
export class ToieeCreateUserDto {
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;

  @IsOptional()
  @IsString()
  @MaxLength(FULL_NAME_MAX_LENGTH)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(USERNAME_MAX_LENGTH)
  username?: string;

  /** omitted: generated and answered once as `generatedPassword` */
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;
}

/** PUT /api/toiee/users/:userId/password body. */
export class ToieePasswordDto {
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;
}

/** GET /api/toiee/users query: `page` ≥ 1 (default 1), `limit` 1–100 (default 20). */
export class ToieeListQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}
