import { Module } from '@nestjs/common';

/** Bulk CSV import and export of users (docs/api/user-import.md). */
@Module({})
export class UserImportModule {}
