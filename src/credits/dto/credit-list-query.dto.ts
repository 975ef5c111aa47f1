import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { CreditTransactionType } from '../../generated/prisma/enums';

/** Seed 004 paging: `page` from 1 (default 1), `pageSize` 1–100 (default 50). */
export class PageQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  page: number = 1;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize: number = 50;
}

export const TRANSACTION_TYPES = Object.values(CreditTransactionType);

/** GET /user/credit/transactions: paging plus an optional `type` filter. */
export class TransactionListQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(TRANSACTION_TYPES)
  type?: CreditTransactionType;
}
