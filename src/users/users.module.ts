import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { SettingsModule } from '../settings/settings.module';
import { UserInfoController } from './user-info.controller';
import { UserInfoService } from './user-info.service';
import { UsersService } from './users.service';

@Module({
  imports: [CreditsModule, SettingsModule],
  controllers: [UserInfoController],
  providers: [UsersService, UserInfoService],
  exports: [UsersService],
})
export class UsersModule {}
