import { DynamicModule, InjectionToken, Module, OptionalFactoryDependency, Provider } from '@nestjs/common';
import { TOKENIZER_OPTIONS, TokenCounterService, TokenizerOptions } from './token-counter.service';

/**
 * Token metering: TokenCounterService (counts on a worker thread). Imported as is, the service
 * runs with the defaults (TOKENIZER_DEFAULTS); `register` / `registerAsync` supply TokenizerOptions,
 * e.g. from the app config:
 *
 *   MeteringModule.registerAsync({ inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.tokenizer })
 */
@Module({
  providers: [TokenCounterService],
  exports: [TokenCounterService],
})
export class MeteringModule {
  static register(options: TokenizerOptions): DynamicModule {
    return MeteringModule.withOptions({ provide: TOKENIZER_OPTIONS, useValue: options });
  }

  static registerAsync(options: {
    inject?: (InjectionToken | OptionalFactoryDependency)[];
    useFactory: (...args: never[]) => TokenizerOptions | Promise<TokenizerOptions>;
  }): DynamicModule {
    return MeteringModule.withOptions({ provide: TOKENIZER_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory });
  }

  private static withOptions(optionsProvider: Provider): DynamicModule {
    return { module: MeteringModule, providers: [optionsProvider, TokenCounterService], exports: [TokenCounterService] };
  }
}
