import { Module } from '@nestjs/common';
import { SettingsService } from './settings.service';

/** Runtime settings (`settings` table over configuration). */
@Module({ providers: [SettingsService], exports: [SettingsService] })
export class SettingsModule {}
