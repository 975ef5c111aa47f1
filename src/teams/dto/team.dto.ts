import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { Paged } from '../../common/dto/page-query.dto';
import { NAME_LIST_ITEM_MAX_LENGTH, NAME_LIST_MAX_ITEMS } from '../../users/user-rules';

/** Longest team name (characters). */
export const TEAM_NAME_MAX_LENGTH = 200;

/** POST /admin/teams body (docs/api/teams.md). */
export class CreateTeamDto {
  @IsString()
  @Length(1, TEAM_NAME_MAX_LENGTH)
  name: string;

  /** models the members' keys may call; empty = no restriction at the team level */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedModels?: string[];
}

/** PATCH /admin/teams/:id body: any subset. */
export class UpdateTeamDto {
  @IsOptional()
  @IsString()
  @Length(1, TEAM_NAME_MAX_LENGTH)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(NAME_LIST_MAX_ITEMS)
  @IsString({ each: true })
  @MaxLength(NAME_LIST_ITEM_MAX_LENGTH, { each: true })
  allowedModels?: string[];
}

/** GET /admin/teams query: paging and a case-insensitive name search. */
export class ListTeamsQuery extends Paged(class {}) {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

/** GET /admin/teams/:id query: paging of the members. */
export class TeamMembersQuery extends Paged(class {}) {}
