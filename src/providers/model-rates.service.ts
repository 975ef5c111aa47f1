import { Injectable } from '@nestjs/common';
import { beforeAfter } from '../audit/audit-changes';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import { escapeLike } from '../common/like-pattern';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';
import { toDecimal } from './dto/decimal-value';
import { BulkCreateModelRateDto, CreateModelRateDto, ListModelRatesQuery, UpdateModelRateDto } from './dto/model-rate.dto';
import { ModelRateView, providerNotFound, rateNotFound, toRateView } from './provider-views';
import { Actor, RateHistoryRepository } from './rate-history.repository';

/** A rate in the all-providers list: the rate plus its provider's names. */
export type ModelRateListItem = ModelRateView & { provider: { id: string; name: string; displayName: string } };

export interface ModelRatePage {
  count: number;
  list: ModelRateListItem[];
  paging: { page: number; pageSize: number };
}

/**
 * Model rates (docs/api/providers.md): credits per token charged for a model at a provider, with
 * the provider's unit costs (USD per token) when known. Each change of rates or unit costs is
 * written to model_rate_history in the same transaction; every write drops the gateway's catalog.
 */
@Injectable()
export class ModelRatesService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly catalog: CatalogService,
    private readonly history: RateHistoryRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * Audited (`model-rates.create`, docs/audit-log.md).
   * @throws 404 provider_not_found, 409 model_rate_exists (same model and type at this provider)
   */
  async add(providerId: string, dto: CreateModelRateDto, actor: Actor | null, auditCtx: AuditContext): Promise<ModelRateView> {
    const [view] = await this.createMany([providerId], dto, actor, auditCtx);
    return view;
  }

  /**
   * One rate at several providers, all or nothing; one audit entry `model-rates.create` listing them.
   * @throws 404 provider_not_found (with `providerIds` missing), 409 model_rate_exists (with `providerIds` that have it)
   */
  async addToProviders(dto: BulkCreateModelRateDto, actor: Actor | null, auditCtx: AuditContext): Promise<ModelRateView[]> {
    const { providers, ...rate } = dto;
    return this.createMany(providers, rate, actor, auditCtx);
  }

  async listForProvider(providerId: string): Promise<ModelRateView[]> {
    await this.provider(providerId);
    const rates = await this.prisma.modelRate.findMany({ where: { providerId }, orderBy: [{ model: 'asc' }, { type: 'asc' }] });
    return rates.map(toRateView);
  }

  /** Every rate, by provider name then model; `providerId` a comma list, `model` a case-insensitive substring. */
  async listAll(q: ListModelRatesQuery): Promise<ModelRatePage> {
    const page = q.page;
    const pageSize = q.pageSize;
    const ids = q.providerId
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids?.some((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))) {
      throw DomainError.validationFailed('providerId', 'providerId must be a comma list of UUIDs');
    }
    const where: Prisma.ModelRateWhereInput = {
      ...(ids?.length ? { providerId: { in: ids } } : {}),
      ...(q.model ? { model: { contains: escapeLike(q.model), mode: 'insensitive' } } : {}),
    };
    const [count, rows] = await Promise.all([
      this.prisma.modelRate.count({ where }),
      this.prisma.modelRate.findMany({
        where,
        include: { provider: { select: { id: true, name: true, displayName: true } } },
        orderBy: [{ provider: { name: 'asc' } }, { model: 'asc' }, { type: 'asc' }],
        skip: (page - 1) * pageSize,
        take: pageSize,
      }),
    ]);
    return { count, list: rows.map((r) => ({ ...toRateView(r), provider: r.provider })), paging: { page, pageSize } };
  }

  /**
   * Audited (`model-rates.update`: before/after of the changed fields).
   * @throws 404 provider_not_found / model_rate_not_found, 409 model_rate_exists
   */
  async update(
    providerId: string,
    rateId: string,
    dto: UpdateModelRateDto,
    actor: Actor | null,
    auditCtx: AuditContext,
  ): Promise<ModelRateView> {
    const provider = await this.provider(providerId);
    try {
      const updated = await this.prisma.$transaction(async (tx) => {
        const [before] = await tx.$queryRaw<
          { id: string }[]
        >`SELECT id FROM model_rates WHERE id = ${rateId}::uuid AND provider_id = ${providerId}::uuid FOR UPDATE`;
        if (!before) throw rateNotFound(rateId);
        const old = await tx.modelRate.findUniqueOrThrow({ where: { id: rateId } });
        const next = await tx.modelRate.update({
          where: { id: rateId },
          data: {
            model: dto.model,
            type: dto.type,
            inputRate: dto.inputRate === undefined ? undefined : toDecimal(dto.inputRate),
            outputRate: dto.outputRate === undefined ? undefined : toDecimal(dto.outputRate),
            ...(dto.unitCosts === undefined
              ? {}
              : {
                  inputUnitCost: dto.unitCosts === null ? null : toDecimal(dto.unitCosts.input),
                  outputUnitCost: dto.unitCosts === null ? null : toDecimal(dto.unitCosts.output),
                }),
            metadata: dto.modelMetadata as Prisma.InputJsonValue | undefined,
            enabled: dto.enabled,
          },
        });
        await this.history.record(tx, [{ rate: next, providerName: provider.name, before: old, after: next }], {
          action: 'update',
          reason: dto.reason,
          actor,
        });
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'model-rates.update',
          targetType: 'model_rate',
          targetId: rateId,
          changes: { ...beforeAfter(rateSnapshot(old), rateSnapshot(next)), reason: dto.reason ?? null },
        });
        return next;
      });
      await this.catalog.invalidate();
      return toRateView(updated);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.exists([providerId]);
      throw err;
    }
  }

  /** Deletes the rate (its history stays, with the rate id cleared). Audited (`model-rates.delete` with the rate's snapshot). */
  async remove(providerId: string, rateId: string, actor: Actor | null, auditCtx: AuditContext): Promise<void> {
    const provider = await this.provider(providerId);
    await this.prisma.$transaction(async (tx) => {
      const rate = await tx.modelRate.findFirst({ where: { id: rateId, providerId } });
      if (!rate) throw rateNotFound(rateId);
      await this.history.record(tx, [{ rate, providerName: provider.name, before: rate, after: null }], { action: 'delete', actor });
      await tx.modelRate.delete({ where: { id: rateId } });
      await this.audit.inTransaction(tx, auditCtx, {
        action: 'model-rates.delete',
        targetType: 'model_rate',
        targetId: rateId,
        status: 204,
        changes: { deleted: rateSnapshot(rate) },
      });
    });
    await this.catalog.invalidate();
  }

  private async createMany(
    providerIds: string[],
    dto: CreateModelRateDto,
    actor: Actor | null,
    auditCtx: AuditContext,
  ): Promise<ModelRateView[]> {
    const type = dto.type ?? 'chatCompletion';
    try {
      const created = await this.prisma.$transaction(async (tx) => {
        const providers = await tx.aiProvider.findMany({ where: { id: { in: providerIds } }, select: { id: true, name: true } });
        const missing = providerIds.filter((id) => !providers.some((p) => p.id === id));
        if (missing.length === 1 && providerIds.length === 1) throw providerNotFound(missing[0]);
        if (missing.length)
          throw DomainError.notFound('provider_not_found', `No provider ${missing.join(', ')}; nothing was added`, {
            providerIds: missing,
          });
        const taken = await tx.modelRate.findMany({
          where: { providerId: { in: providerIds }, model: dto.model, type },
          select: { providerId: true },
        });
        if (taken.length) throw this.exists(taken.map((t) => t.providerId));
        const rows = [];
        for (const id of providerIds) {
          const rate = await tx.modelRate.create({
            data: {
              providerId: id,
              model: dto.model,
              type,
              inputRate: toDecimal(dto.inputRate),
              outputRate: toDecimal(dto.outputRate),
              inputUnitCost: dto.unitCosts ? toDecimal(dto.unitCosts.input) : null,
              outputUnitCost: dto.unitCosts ? toDecimal(dto.unitCosts.output) : null,
              metadata: (dto.modelMetadata ?? {}) as Prisma.InputJsonValue,
              enabled: dto.enabled ?? true,
            },
          });
          await this.history.record(tx, [{ rate, providerName: providers.find((p) => p.id === id)!.name, before: null, after: rate }], {
            action: 'create',
            actor,
          });
          rows.push(rate);
        }
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'model-rates.create',
          targetType: 'model_rate',
          targetId: rows.length === 1 ? rows[0].id : null,
          status: 201,
          changes: { created: rows.map((r) => ({ id: r.id, ...rateSnapshot(r) })) },
        });
        return rows;
      });
      await this.catalog.invalidate();
      return created.map(toRateView);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.exists(providerIds);
      throw err;
    }
  }

  private exists(providerIds: string[]) {
    return DomainError.conflict('model_rate_exists', 'A rate for this model and type exists at the provider; nothing was added', {
      providerIds,
    });
  }

  private async provider(id: string) {
    const p = await this.prisma.aiProvider.findUnique({ where: { id }, select: { id: true, name: true } });
    if (!p) throw providerNotFound(id);
    return p;
  }
}

/** The audited fields of a model rate (credits per token, USD per token unit costs, as decimal strings). */
function rateSnapshot(r: {
  providerId: string;
  model: string;
  type: string;
  inputRate: { toFixed(): string };
  outputRate: { toFixed(): string };
  inputUnitCost: { toFixed(): string } | null;
  outputUnitCost: { toFixed(): string } | null;
  enabled: boolean;
  metadata: unknown;
}) {
  return {
    providerId: r.providerId,
    model: r.model,
    type: r.type,
    inputRate: r.inputRate.toFixed(),
    outputRate: r.outputRate.toFixed(),
    inputUnitCost: r.inputUnitCost?.toFixed() ?? null,
    outputUnitCost: r.outputUnitCost?.toFixed() ?? null,
    enabled: r.enabled,
    modelMetadata: r.metadata,
  };
}
