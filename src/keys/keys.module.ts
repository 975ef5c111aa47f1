import { Module } from '@nestjs/common';
import { KeysRepository } from './keys.repository';
import { KeyCheckService } from './key-check.service';

@Module({ providers: [KeyCheckService, KeysRepository], exports: [KeyCheckService] })
export class KeysModule {}
