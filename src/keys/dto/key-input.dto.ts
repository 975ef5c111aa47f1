import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { SCOPES, Scope } from '../../auth/auth-user';

/** Bounds of key fields (docs/api/keys.md "Fields"). */
export const KEY_LIMITS = {
  nameLength: 128,
  listItems: 256,
  itemLength: 200,
  /** rpmLimit and tpmLimit: 1 … 2^31 − 1 (an int column) */
  maxLimit: 2_147_483_647,
} as const;

/** Accepts a JSON number as its decimal string, so credit amounts are validated and stored exactly. */
const numberToDecimalString = ({ value }: { value: unknown }) =>
  typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
const CREDIT_BUDGET_PATTERN = /^(?!0+(\.0+)?$)\d{1,18}(\.\d{1,10})?$/;
const CREDIT_BUDGET_MESSAGE =
  'creditBudget must be a positive decimal number of credits (at most 18 integer and 10 fractional digits) or null';

/**
 * The fields a key has besides its secret, all optional: POST bodies add `name` (required), PATCH
 * bodies take any subset. `null` clears expiresAt, rpmLimit, tpmLimit and creditBudget.
 */
export class KeyFieldsDto {
  /**
   * Models this key may call: "model", "provider/model", "provider/*", "*", or "all-team-models"
   * (whatever the user's team allows). Empty: no restriction at the key level.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(KEY_LIMITS.listItems)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(KEY_LIMITS.itemLength, { each: true })
  allowedModels?: string[];

  /** Services (integrations) this key is meant for, free-form names; stored and returned. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(KEY_LIMITS.listItems)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(KEY_LIMITS.itemLength, { each: true })
  allowedServices?: string[];

  /** Management-API scopes (src/auth/auth-user.ts SCOPES); only admins may give any. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(SCOPES.length)
  @IsIn(SCOPES, { each: true })
  scopes?: Scope[];

  /** ISO 8601; the key is refused from then on. null: never expires. */
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string | null;

  /** Requests per minute (stored for rate limiting); null: no limit. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(KEY_LIMITS.maxLimit)
  rpmLimit?: number | null;

  /** Tokens per minute (stored for rate limiting); null: no limit. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(KEY_LIMITS.maxLimit)
  tpmLimit?: number | null;

  /** Credits this key may spend in total, > 0 (JSON number or decimal string); null: no budget. */
  @IsOptional()
  @Transform(numberToDecimalString)
  @IsString({ message: CREDIT_BUDGET_MESSAGE })
  @Matches(CREDIT_BUDGET_PATTERN, { message: CREDIT_BUDGET_MESSAGE })
  creditBudget?: string | null;
}

/** POST /user/keys and POST /admin/users/:userId/keys body. */
export class CreateKeyDto extends KeyFieldsDto {
  /** The key's alias, shown in lists: 1–128 characters. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(KEY_LIMITS.nameLength)
  name: string;
}

/** PATCH /user/keys/:keyId and PATCH /admin/users/:userId/keys/:keyId body: any subset of the fields. */
export class UpdateKeyDto extends KeyFieldsDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(KEY_LIMITS.nameLength)
  name?: string;
}
