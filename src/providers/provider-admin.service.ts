import { Injectable } from '@nestjs/common';
import { beforeAfter } from '../audit/audit-changes';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';
import { CreateProviderDto, UpdateProviderDto } from './dto/provider.dto';
import { ProviderHealthService } from './provider-health.service';
import { providerNotFound, toRateView, ModelRateView } from './provider-views';
import { MaskedCredential, toMasked } from './providers.service';

/** A provider as GET /ai-providers shows it: rates and masked credentials, never a secret. */
export interface ProviderView {
  id: string;
  name: string;
  displayName: string;
  baseUrl: string;
  enabled: boolean;
  modelRates: ModelRateView[];
  credentials: (MaskedCredential & { running: boolean })[];
  createdAt: string;
  updatedAt: string;
}

/** Providers: list, create, update, delete (docs/api/providers.md). Every write drops the gateway's catalog. */
@Injectable()
export class ProviderAdminService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly catalog: CatalogService,
    private readonly health: ProviderHealthService,
    private readonly audit: AuditService,
  ) {}

  async list(): Promise<ProviderView[]> {
    const providers = await this.prisma.aiProvider.findMany({
      orderBy: { name: 'asc' },
      include: {
        modelRates: { orderBy: [{ model: 'asc' }, { type: 'asc' }] },
        credentials: { orderBy: { name: 'asc' }, include: { health: { select: { healthy: true } } } },
      },
    });
    return providers.map((p) => this.view(p));
  }

  async get(id: string): Promise<ProviderView> {
    const p = await this.prisma.aiProvider.findUnique({
      where: { id },
      include: {
        modelRates: { orderBy: [{ model: 'asc' }, { type: 'asc' }] },
        credentials: { orderBy: { name: 'asc' }, include: { health: { select: { healthy: true } } } },
      },
    });
    if (!p) throw providerNotFound(id);
    return this.view(p);
  }

  /**
   * Creates a provider; writes the audit entry `providers.create` in the same transaction.
   * @throws 409 provider_exists when the name is taken
   */
  async create(dto: CreateProviderDto, auditCtx: AuditContext): Promise<ProviderView> {
    try {
      const p = await this.prisma.$transaction(async (tx) => {
        const created = await tx.aiProvider.create({
          data: { name: dto.name, displayName: dto.displayName, baseUrl: dto.baseUrl.replace(/\/+$/, ''), enabled: dto.enabled ?? true },
        });
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'providers.create',
          targetType: 'provider',
          targetId: created.id,
          status: 201,
          changes: { created: snapshot(created) },
        });
        return created;
      });
      await this.changed();
      return this.get(p.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw DomainError.conflict('provider_exists', `A provider named "${dto.name}" exists`);
      throw err;
    }
  }

  /**
   * Updates a provider; audit entry `providers.update` with the changed fields before and after.
   * @throws 404 provider_not_found, 409 provider_exists
   */
  async update(id: string, dto: UpdateProviderDto, auditCtx: AuditContext): Promise<ProviderView> {
    try {
      await this.prisma.$transaction(async (tx) => {
        const before = await tx.aiProvider.findUnique({ where: { id } });
        if (!before) throw providerNotFound(id);
        const after = await tx.aiProvider.update({
          where: { id },
          data: { name: dto.name, displayName: dto.displayName, baseUrl: dto.baseUrl?.replace(/\/+$/, ''), enabled: dto.enabled },
        });
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'providers.update',
          targetType: 'provider',
          targetId: id,
          changes: beforeAfter(snapshot(before), snapshot(after)),
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw DomainError.conflict('provider_exists', `A provider named "${dto.name}" exists`);
      throw err;
    }
    await this.changed();
    return this.get(id);
  }

  /**
   * Deletes the provider with its credentials and rates; past model calls keep their rows
   * (provider set null). Audit entry `providers.delete` with the deleted provider's snapshot.
   * @throws 404 provider_not_found
   */
  async remove(id: string, auditCtx: AuditContext): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.aiProvider.findUnique({
        where: { id },
        include: { credentials: { select: { name: true } }, modelRates: { select: { model: true, type: true } } },
      });
      if (!before) throw providerNotFound(id);
      await tx.aiProvider.delete({ where: { id } });
      await this.audit.inTransaction(tx, auditCtx, {
        action: 'providers.delete',
        targetType: 'provider',
        targetId: id,
        status: 204,
        changes: {
          deleted: {
            ...snapshot(before),
            credentialNames: before.credentials.map((c) => c.name),
            modelRates: before.modelRates.map((r) => `${r.model} (${r.type})`),
          },
        },
      });
    });
    await this.changed();
  }

  private async changed(): Promise<void> {
    await this.catalog.invalidate();
    await this.health.invalidate();
  }

  private view(p: {
    id: string;
    name: string;
    displayName: string;
    baseUrl: string;
    enabled: boolean;
    createdAt: Date;
    updatedAt: Date;
    modelRates: Parameters<typeof toRateView>[0][];
    credentials: (Parameters<typeof toMasked>[0] & { health: { healthy: boolean } | null })[];
  }): ProviderView {
    return {
      id: p.id,
      name: p.name,
      displayName: p.displayName,
      baseUrl: p.baseUrl,
      enabled: p.enabled,
      modelRates: p.modelRates.map(toRateView),
      credentials: p.credentials.map((c) => ({ ...toMasked(c), running: c.active && (c.health?.healthy ?? true) })),
      createdAt: p.createdAt.toISOString(),
      updatedAt: p.updatedAt.toISOString(),
    };
  }
}

type ProviderRow = { name: string; displayName: string; baseUrl: string; enabled: boolean };

/** The audited fields of a provider (no secrets live on the provider row). */
function snapshot(p: ProviderRow): ProviderRow {
  return { name: p.name, displayName: p.displayName, baseUrl: p.baseUrl, enabled: p.enabled };
}
