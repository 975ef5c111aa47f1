import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { KeysModule } from '../keys/keys.module';
import { SettingsModule } from '../settings/settings.module';
import { AdminUsersController } from './admin-users.controller';
import { AdminsController } from './admins.controller';
import { UserInfoController } from './user-info.controller';
import { UserInfoService } from './user-info.service';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** User accounts: user info, admin user management, admin accounts (docs/api/users.md). */
@Module({
  imports: [CreditsModule, SettingsModule, KeysModule],
  controllers: [UserInfoController, AdminUsersController, AdminsController],
  providers: [UsersService, UsersRepository, UserInfoService],
  exports: [UsersService],
})
export class UsersModule {}
