import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/dto/page-query.dto';
import type { KeyStatusFilter } from '../keys.repository';

export const KEY_STATUS_FILTERS: readonly KeyStatusFilter[] = ['active', 'revoked', 'expired', 'all'];

/** GET /user/keys and GET /admin/users/:userId/keys: paging plus `status` (default `all`). */
export class KeyListQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(KEY_STATUS_FILTERS)
  status: KeyStatusFilter = 'all';
}
