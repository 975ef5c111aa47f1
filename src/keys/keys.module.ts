import { Module } from '@nestjs/common';
import { AdminUserKeysController } from './admin-user-keys.controller';
import { KeyCheckService } from './key-check.service';
import { KeyLookupController } from './key-lookup.controller';
import { KeyManagementService } from './key-management.service';
import { KeysRepository } from './keys.repository';
import { UserKeysController } from './user-keys.controller';

/** Virtual keys: the gateway's key check (KeyCheckService) and their management API (docs/api/keys.md). */
@Module({
  controllers: [UserKeysController, AdminUserKeysController, KeyLookupController],
  providers: [KeyCheckService, KeyManagementService, KeysRepository],
  exports: [KeyCheckService, KeyManagementService],
})
export class KeysModule {}
