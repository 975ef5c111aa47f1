import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { BulkRateUpdateResult, BulkRateUpdateService } from './bulk-rate-update.service';
import {
  BulkCreateModelRateDto,
  BulkRateUpdateDto,
  CreateModelRateDto,
  ListModelRatesQuery,
  RateHistoryQuery,
  UpdateModelRateDto,
} from './dto/model-rate.dto';
import { ModelRatePage, ModelRatesService } from './model-rates.service';
import { ModelRateView, uuidParam } from './provider-views';
import { RateHistoryRepository } from './rate-history.repository';

const actor = (u: AuthUser) => ({ id: u.id, email: u.email });

/**
 * Model rates (docs/api/providers.md): credits per token (JSON numbers), unit costs in USD per token
 * (`unitCosts: {input, output}`, or null when unknown). Rate and unit-cost changes are kept in
 * the rate history (GET /ai-providers/rate-history). Every write writes one audit entry in its
 * transaction (model-rates.create, model-rates.update, model-rates.delete, model-rates.bulk-update;
 * docs/audit-log.md).
 */
@Controller('ai-providers')
export class ModelRatesController {
  constructor(
    private readonly rates: ModelRatesService,
    private readonly bulk: BulkRateUpdateService,
    private readonly history: RateHistoryRepository,
  ) {}

  /**
   * GET /ai-providers/model-rates?page=1&pageSize=50&providerId=<id,id>&model=<substring>
   * (any authenticated user; scope providers:read) → `{count, list: [rate + provider{id,name,displayName}], paging}`.
   */
  @Get('model-rates')
  @Auth({ scope: 'providers:read' })
  listAll(@Query() q: ListModelRatesQuery): Promise<ModelRatePage> {
    return this.rates.listAll(q);
  }

  /**
   * POST /ai-providers/model-rates (admin) `{model, type?, inputRate, outputRate, unitCosts?, modelMetadata?, providers: [id…]}`
   * → 201 the created rates; all or nothing: 404 provider_not_found `{providerIds}`, 409 model_rate_exists `{providerIds}`.
   */
  @Post('model-rates')
  @Auth({ admin: true })
  addToProviders(
    @Body() dto: BulkCreateModelRateDto,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<ModelRateView[]> {
    return this.rates.addToProviders(dto, actor(user), audit);
  }

  /**
   * POST /ai-providers/bulk-rate-update (admin) `{profitMargin (%), creditPrice (USD per credit), reason?}` → 200
   * `{message, updated, skipped, parameters, summary[{id, model, provider, oldInputRate, newInputRate, oldOutputRate, newOutputRate}]}`.
   * Every rate with both unit costs becomes unitCost × (1 + profitMargin/100) / creditPrice (exact, 18 places), in one transaction.
   * 400 validation_failed (creditPrice ≤ 0, margin ≤ −100) or rate_out_of_range.
   */
  @Post('bulk-rate-update')
  @HttpCode(200)
  @Auth({ admin: true })
  bulkRateUpdate(
    @Body() dto: BulkRateUpdateDto,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<BulkRateUpdateResult> {
    return this.bulk.apply(dto, actor(user), audit);
  }

  /**
   * GET /ai-providers/rate-history?page&pageSize&rateId&providerId&model (admin) → `{count, list, paging}`, newest first:
   * each `{id, rateId, providerId, providerName, model, type, action (create|update|delete|bulk-rate-update|price-import), reason,
   * oldInputRate, newInputRate, oldOutputRate, newOutputRate, oldUnitCosts, newUnitCosts, parameters, changedBy{id,email}|null, createdAt}`.
   */
  @Get('rate-history')
  @Auth({ admin: true })
  rateHistory(@Query() q: RateHistoryQuery) {
    return this.history.list({ page: q.page, pageSize: q.pageSize, rateId: q.rateId, providerId: q.providerId, model: q.model });
  }

  /** GET /ai-providers/:providerId/model-rates (any authenticated user; scope providers:read) → the provider's rates. 404 provider_not_found. */
  @Get(':providerId/model-rates')
  @Auth({ scope: 'providers:read' })
  listForProvider(@Param('providerId', uuidParam('providerId')) providerId: string): Promise<ModelRateView[]> {
    return this.rates.listForProvider(providerId);
  }

  /**
   * POST /ai-providers/:providerId/model-rates (admin) `{model, type? (chatCompletion), inputRate, outputRate, unitCosts?, modelMetadata?, enabled?}`
   * → 201 the rate. Decimals as JSON numbers or numeric strings. 404 provider_not_found; 409 model_rate_exists.
   */
  @Post(':providerId/model-rates')
  @Auth({ admin: true })
  add(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Body() dto: CreateModelRateDto,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<ModelRateView> {
    return this.rates.add(providerId, dto, actor(user), audit);
  }

  /** PUT /ai-providers/:providerId/model-rates/:rateId (admin), any subset plus `reason` → the rate. 404 model_rate_not_found; 409 model_rate_exists. */
  @Put(':providerId/model-rates/:rateId')
  @Auth({ admin: true })
  update(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Param('rateId', uuidParam('rateId')) rateId: string,
    @Body() dto: UpdateModelRateDto,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<ModelRateView> {
    return this.rates.update(providerId, rateId, dto, actor(user), audit);
  }

  /** DELETE /ai-providers/:providerId/model-rates/:rateId (admin) → 204. 404 model_rate_not_found. */
  @Delete(':providerId/model-rates/:rateId')
  @HttpCode(204)
  @Auth({ admin: true })
  remove(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Param('rateId', uuidParam('rateId')) rateId: string,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    return this.rates.remove(providerId, rateId, actor(user), audit);
  }
}
