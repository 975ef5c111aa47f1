import { Module } from '@nestjs/common';

/** The external user-management API at /api/toiee (docs/api/toiee-users.md). */
@Module({})
export class ToieeModule {}
