import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { Paged } from '../../common/dto/page-query.dto';
import { UserRole, UserStatus } from '../../generated/prisma/enums';
import { BULK_MAX_IDS, FULL_NAME_MAX_LENGTH, NAME_LIST_ITEM_MAX_LENGTH, NAME_LIST_MAX_ITEMS, USERNAME_MAX_LENGTH } from '../user-rules';
import { USER_SORT_COLUMNS } from '../users.repository';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords';

/** Longest email accepted in a body before the email policy looks at it (characters). */
const EMAIL_FIELD_MAX = 320;
/** Longest role name accepted (Tollgate's or LiteLLM's names). */
const ROLE_FIELD_MAX = 64;

/** POST /admin/users and POST /admin/admins body (docs/api/users.md "Create a user"). */
export class CreateUserDto {
  @IsString()
  @MaxLength(EMAIL_FIELD_MAX)
  email: string;

  @IsOptional()
  @IsString()
  @MaxLength(FULL_NAME_MAX_LENGTH)
  fullName?: string;

  @IsOptional()
  @IsString()
  @MaxLength(USERNAME_MAX_LENGTH)
  username?: string;

  /** Tollgate's role names or LiteLLM's (proxy_admin, internal_user…); default member */
  @IsOptional()
  @IsString()
  @MaxLength(ROLE_FIELD_MAX)
  role?: string;

  /** omitted: generated, answered once as `generatedPassword`, must be changed at first login */
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;

  @IsOptional()
  @IsUUID()
  teamId?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  teamName?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedModels?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedServices?: string[];

  /** free-form JSON object, at most 16 KiB */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/** PATCH /admin/users/:id body: any subset; `teamId: null` takes the user out of their team. */
export class UpdateUserDto {
  @IsOptional()
  @IsString()
  @MaxLength(EMAIL_FIELD_MAX)
  email?: string;

  @IsOptional()
  @IsString()
  @MaxLength(FULL_NAME_MAX_LENGTH)
  fullName?: string;

  /** null or "" removes the username */
  @IsOptional()
  @IsString()
  @MaxLength(USERNAME_MAX_LENGTH)
  username?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(ROLE_FIELD_MAX)
  role?: string;

  @ValidateIf((_o, v) => v !== null && v !== undefined)
  @IsUUID()
  teamId?: string | null;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedModels?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedServices?: string[];

  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/** POST /admin/users/:id/password body. */
export class SetPasswordDto {
  /** omitted: a password is generated and answered once */
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;
}

/** A list of user ids (bulk requests, team membership): 1 to 1000 strings. */
export class UserIdsDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BULK_MAX_IDS)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  userIds: string[];
}

/** How a bulk update changes a list. */
export class ListEditDto {
  @IsIn(['replace', 'add', 'remove'])
  mode: 'replace' | 'add' | 'remove';

  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  values: string[];
}

/** POST /admin/users/bulk-update body. */
export class BulkUpdateDto extends UserIdsDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => ListEditDto)
  allowedModels?: ListEditDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ListEditDto)
  allowedServices?: ListEditDto;

  /** a team id, or null to take the users out of their team */
  @ValidateIf((_o, v) => v !== null && v !== undefined)
  @IsUUID()
  teamId?: string | null;
}

/** GET /admin/users query (docs/api/users.md "List users"). */
export class ListUsersQuery extends Paged(class {}) {
  /** case-insensitive substring of id, did, email, username, full name or team name */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @IsOptional()
  @IsIn(Object.values(UserRole))
  role?: UserRole;

  @IsOptional()
  @IsIn(Object.values(UserStatus))
  status?: UserStatus;

  @IsOptional()
  @IsUUID()
  teamId?: string;

  @IsOptional()
  @IsIn(Object.keys(USER_SORT_COLUMNS))
  sort?: keyof typeof USER_SORT_COLUMNS;

  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';
}
