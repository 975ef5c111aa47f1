import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module';
import { ImportStore } from './import-store';
import { UserExportService } from './user-export.service';
import { UserImportController } from './user-import.controller';
import { UserImportRepository } from './user-import.repository';
import { UserImportService } from './user-import.service';

/** Bulk CSV import and export of users (docs/api/user-import.md). */
@Module({
  imports: [KeysModule],
  controllers: [UserImportController],
  providers: [UserImportService, UserExportService, UserImportRepository, ImportStore],
})
export class UserImportModule {}
