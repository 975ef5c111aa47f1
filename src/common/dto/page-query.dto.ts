import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Constructor<T = object> = new (...args: any[]) => T;

/**
 * Adds the paging of every list endpoint (docs/README.md, "Lists") to a query DTO: `page` from 1
 * (default 1, at most 1,000,000) and `pageSize` 1–100 (default 50). The one definition of paging.
 */
export function Paged<TBase extends Constructor>(Base: TBase) {
  class PagedQuery extends Base {
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
    pageSize: number = 50;
  }
  return PagedQuery;
}

/** Paging alone: `?page=&pageSize=`. */
export class PageQueryDto extends Paged(class {}) {}
