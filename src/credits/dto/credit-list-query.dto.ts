import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/dto/page-query.dto';
import { CreditTransactionType } from '../../generated/prisma/enums';

export { PageQueryDto };

export const TRANSACTION_TYPES = Object.values(CreditTransactionType);

/** GET /user/credit/transactions: paging plus an optional `type` filter. */
export class TransactionListQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(TRANSACTION_TYPES)
  type?: CreditTransactionType;
}
