import { IsString, Length } from 'class-validator';

/** POST /auth/login body. */
export class LoginDto {
  /** email or username */
  @IsString()
  @Length(1, 320)
  login: string;

  @IsString()
  @Length(1, 1024)
  password: string;
}
