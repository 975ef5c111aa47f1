import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ToieeRoutes } from './toiee-routes';
import { ToieeUsersController } from './toiee-users.controller';

/** The external user-management API at /api/toiee (docs/api/toiee-users.md). */
@Module({
  imports: [UsersModule],
  controllers: [ToieeUsersController],
  providers: [ToieeRoutes],
})
export class ToieeModule {}
