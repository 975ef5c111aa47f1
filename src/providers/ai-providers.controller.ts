import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
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
   * POST /ai-providers (admin) `{name, displayName, baseUrl, enabled?}` → 201 the provider. Audited
   * (`providers.create`, docs/audit-log.md).
   * 400 validation_failed; 409 provider_exists.
   */
  @Post()
  @Auth({ admin: true })
  create(@Body() dto: CreateProviderDto, @Audit() audit: AuditContext): Promise<ProviderView> {
    return this.providers.create(dto, audit);
  }

  /** PUT /ai-providers/:id (admin), any subset of the create fields → the provider. 404 provider_not_found; 409 provider_exists. Audited (`providers.update`). */
  @Put(':id')
  @Auth({ admin: true })
  update(@Param('id', uuidParam('id')) id: string, @Body() dto: UpdateProviderDto, @Audit() audit: AuditContext): Promise<ProviderView> {
    return this.providers.update(id, dto, audit);
  }

  /** DELETE /ai-providers/:id (admin) → 204; its credentials and rates go with it. 404 provider_not_found. Audited (`providers.delete`). */
  @Delete(':id')
  @HttpCode(204)
  @Auth({ admin: true })
  remove(@Param('id', uuidParam('id')) id: string, @Audit() audit: AuditContext): Promise<void> {
    return this.providers.remove(id, audit);
  }
}
