import { Transform } from 'class-transformer';
import { IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** POST /admin/credits/grants body. */
export class CreateCreditGrantDto {
  /** DID of the user receiving the credits. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userDid: string;

  /** Credits, > 0, up to 10 decimal places; a JSON number or a decimal string ("12.5"). */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value))
  @IsString({ message: 'amount must be a positive decimal number of credits' })
  @Matches(/^(?!0+(\.0+)?$)\d{1,18}(\.\d{1,10})?$/, {
    message: 'amount must be a positive decimal number of credits (at most 18 integer and 10 fractional digits)',
  })
  amount: string;

  /** Why (shown in the user's grant list and transaction description). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  reason: string;

  /** ISO 8601 time after which the grant's unconsumed remainder expires; must be in the future. */
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}
