import { IsString, Length } from 'class-validator';

/** POST /auth/password body (docs/api/auth.md). The new password's policy (8 to 256 characters) is checked by the service. */
export class ChangePasswordDto {
  @IsString()
  @Length(1, 1024)
  currentPassword: string;

  @IsString()
  @Length(1, 1024)
  newPassword: string;
}
