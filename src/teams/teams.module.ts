import { Module } from '@nestjs/common';

/** Teams (docs/api/teams.md). */
@Module({})
export class TeamsModule {}
