import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { ProvidersService } from './providers.service';

@Module({ providers: [CatalogService, ProvidersService], exports: [CatalogService, ProvidersService] })
export class ProvidersModule {}
