import { PageQueryDto } from '../../common/dto/page-query.dto';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsBoolean,
  IsEnum,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  ValidateNested,
} from 'class-validator';
import { ModelType } from '../../generated/prisma/enums';
import { DecimalInput, IsDecimalInRange, IsNonNegativeDecimal } from './decimal-value';

/** USD per token the provider charges (`unitCosts`, docs/api/providers.md). */
export class UnitCostsDto {
  @IsNonNegativeDecimal()
  input: DecimalInput;

  @IsNonNegativeDecimal()
  output: DecimalInput;
}

/** POST /ai-providers/:providerId/model-rates body (docs/api/providers.md "Model rates"). Rates: credits per token. */
export class CreateModelRateDto {
  @IsString()
  @Length(1, 200)
  model: string;

  @IsOptional()
  @IsEnum(ModelType)
  type?: ModelType;

  @IsNonNegativeDecimal()
  inputRate: DecimalInput;

  @IsNonNegativeDecimal()
  outputRate: DecimalInput;

  @IsOptional()
  @ValidateNested()
  @Type(() => UnitCostsDto)
  unitCosts?: UnitCostsDto;

  /** `modelMetadata` (docs/api/providers.md), e.g. { maxTokens, features } */
  @IsOptional()
  @IsObject()
  modelMetadata?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** POST /ai-providers/model-rates body: one rate for several providers, all or nothing. */
export class BulkCreateModelRateDto extends CreateModelRateDto {
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  providers: string[];
}

/** PUT /ai-providers/:providerId/model-rates/:rateId body: any subset. `unitCosts: null` clears them. */
export class UpdateModelRateDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;

  @IsOptional()
  @IsEnum(ModelType)
  type?: ModelType;

  @IsOptional()
  @IsNonNegativeDecimal()
  inputRate?: DecimalInput;

  @IsOptional()
  @IsNonNegativeDecimal()
  outputRate?: DecimalInput;

  @IsOptional()
  @ValidateNested()
  @Type(() => UnitCostsDto)
  unitCosts?: UnitCostsDto | null;

  @IsOptional()
  @IsObject()
  modelMetadata?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  /** why (kept in the rate history) */
  @IsOptional()
  @IsString()
  @Length(0, 500)
  reason?: string;
}

/** GET /ai-providers/model-rates query. */
export class ListModelRatesQuery extends PageQueryDto {
  /** comma-separated provider ids */
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  providerId?: string;

  /** substring of the model name (case-insensitive) */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;
}

/** POST /ai-providers/bulk-rate-update body (docs/api/providers.md "Model rates"). */
export class BulkRateUpdateDto {
  /** percent added on top of the unit cost: a number or numeric string, above -100, at most 1,000,000 */
  @IsDecimalInRange({ greaterThan: -100, max: 1_000_000 })
  profitMargin: DecimalInput;

  /** USD price of one credit */
  @IsNonNegativeDecimal({ positive: true })
  creditPrice: DecimalInput;

  /** why (kept in the rate history) */
  @IsOptional()
  @IsString()
  @Length(0, 500)
  reason?: string;
}

/** GET /ai-providers/rate-history query. */
export class RateHistoryQuery extends PageQueryDto {
  @IsOptional()
  @IsUUID()
  rateId?: string;

  @IsOptional()
  @IsUUID()
  providerId?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;
}
