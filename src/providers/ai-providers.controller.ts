import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { Auth } from '../auth/auth.decorators';
import { CreateProviderDto, UpdateProviderDto } from './dto/provider.dto';
import { ProviderAdminService, ProviderView } from './provider-admin.service';
import { uuidParam } from './provider-views';

/** Providers (docs/api/providers.md "Providers"). */
@Controller('ai-providers')
export class AiProvidersController {
  constructor(private readonly providers: ProviderAdminService) {}

  /**
   * GET /ai-providers (any authenticated user; API key scope providers:read) → every provider with
   * its model rates (inputRate/outputRate: credits per token; unitCosts: USD per token) and its
   * credentials masked (`displayText` "Default Key (sk-••••key)", `maskedValue` {api_key}, `running`).
   */
  @Get()
  @Auth({ scope: 'providers:read' })
  list(): Promise<ProviderView[]> {
    return this.providers.list();
  }

  /**
   * POST /ai-providers (admin) `{name, displayName, baseUrl, enabled?}` → 201 the provider.
   * 400 validation_failed; 409 provider_exists.
   */
  @Post()
  @Auth({ admin: true })
  create(@Body() dto: CreateProviderDto): Promise<ProviderView> {
    return this.providers.create(dto);
  }

  /** PUT /ai-providers/:id (admin), any subset of the create fields → the provider. 404 provider_not_found; 409 provider_exists. */
  @Put(':id')
  @Auth({ admin: true })
  update(@Param('id', uuidParam('id')) id: string, @Body() dto: UpdateProviderDto): Promise<ProviderView> {
    return this.providers.update(id, dto);
  }

  /** DELETE /ai-providers/:id (admin) → 204; its credentials and rates go with it. 404 provider_not_found. */
  @Delete(':id')
  @HttpCode(204)
  @Auth({ admin: true })
  remove(@Param('id', uuidParam('id')) id: string): Promise<void> {
    return this.providers.remove(id);
  }
}
