import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { ModelCallRecorder } from './model-call-recorder.service';

@Module({ imports: [CreditsModule], providers: [ModelCallRecorder], exports: [ModelCallRecorder] })
export class ModelCallsModule {}
