import { ArrayMaxSize, ArrayMinSize, IsArray, IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** Most user ids one POST /admin/users/lookup takes. */
export const LOOKUP_MAX_USERS = 1000;

/** POST /admin/users/lookup body. */
export class LookupUsersDto {
  /** 1–1000 user ids (UUID) or DIDs, each at most 200 characters; duplicates count once. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(LOOKUP_MAX_USERS)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(200, { each: true })
  userIds: string[];
}
