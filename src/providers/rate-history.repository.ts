import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { Prisma } from '../generated/prisma/client';
import type { ModelRate } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { decimalToNumber } from './rate-math';

type Tx = Prisma.TransactionClient;

export type RateChangeAction = 'create' | 'update' | 'delete' | 'bulk-rate-update' | 'price-import';

/** Who made a change: an admin (id, email) or a CLI/system (null). */
export interface Actor {
  id: string;
  email: string;
}

type RateValues = Pick<ModelRate, 'inputRate' | 'outputRate' | 'inputUnitCost' | 'outputUnitCost'>;

export interface RateChange {
  rate: Pick<ModelRate, 'id' | 'providerId' | 'model' | 'type'>;
  providerName: string;
  before: RateValues | null;
  after: RateValues | null;
}

const same = (a: Decimal | null | undefined, b: Decimal | null | undefined) => (a == null || b == null ? a == b : a.eq(b));

/** True when rates or unit costs differ (only such changes are kept in the history). */
export function rateValuesChanged(a: RateValues | null, b: RateValues | null): boolean {
  if (!a || !b) return true;
  return !(
    same(a.inputRate, b.inputRate) &&
    same(a.outputRate, b.outputRate) &&
    same(a.inputUnitCost, b.inputUnitCost) &&
    same(a.outputUnitCost, b.outputUnitCost)
  );
}

/**
 * The model_rate_history table: one row per change of a rate's rates or unit costs, written in
 * the same transaction as the change (so the history is complete and never ahead of the rates).
 */
@Injectable()
export class RateHistoryRepository {
  constructor(private readonly prisma: PrismaService) {}

  async record(
    tx: Tx,
    changes: RateChange[],
    meta: { action: RateChangeAction; reason?: string; actor: Actor | null; parameters?: Prisma.InputJsonValue },
  ): Promise<number> {
    const rows = changes
      .filter((c) => rateValuesChanged(c.before, c.after))
      .map((c) => ({
        rateId: meta.action === 'delete' ? null : c.rate.id,
        providerId: c.rate.providerId,
        providerName: c.providerName,
        model: c.rate.model,
        type: c.rate.type,
        action: meta.action,
        reason: meta.reason ?? '',
        oldInputRate: c.before?.inputRate ?? null,
        newInputRate: c.after?.inputRate ?? null,
        oldOutputRate: c.before?.outputRate ?? null,
        newOutputRate: c.after?.outputRate ?? null,
        oldInputUnitCost: c.before?.inputUnitCost ?? null,
        newInputUnitCost: c.after?.inputUnitCost ?? null,
        oldOutputUnitCost: c.before?.outputUnitCost ?? null,
        newOutputUnitCost: c.after?.outputUnitCost ?? null,
        parameters: meta.parameters ?? Prisma.DbNull,
        changedById: meta.actor?.id ?? null,
        changedByEmail: meta.actor?.email ?? null,
      }));
    if (rows.length === 0) return 0;
    return (await tx.modelRateHistory.createMany({ data: rows })).count;
  }

  /** Newest first; filters by rate, provider or model (exact). */
  async list(q: { page: number; pageSize: number; rateId?: string; providerId?: string; model?: string }) {
    const where: Prisma.ModelRateHistoryWhereInput = { rateId: q.rateId, providerId: q.providerId, model: q.model };
    const [count, rows] = await Promise.all([
      this.prisma.modelRateHistory.count({ where }),
      this.prisma.modelRateHistory.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        skip: (q.page - 1) * q.pageSize,
        take: q.pageSize,
      }),
    ]);
    return {
      count,
      list: rows.map((h) => ({
        id: h.id,
        rateId: h.rateId,
        providerId: h.providerId,
        providerName: h.providerName,
        model: h.model,
        type: h.type,
        action: h.action,
        reason: h.reason,
        oldInputRate: decimalToNumber(h.oldInputRate),
        newInputRate: decimalToNumber(h.newInputRate),
        oldOutputRate: decimalToNumber(h.oldOutputRate),
        newOutputRate: decimalToNumber(h.newOutputRate),
        oldUnitCosts:
          h.oldInputUnitCost == null && h.oldOutputUnitCost == null
            ? null
            : { input: decimalToNumber(h.oldInputUnitCost), output: decimalToNumber(h.oldOutputUnitCost) },
        newUnitCosts:
          h.newInputUnitCost == null && h.newOutputUnitCost == null
            ? null
            : { input: decimalToNumber(h.newInputUnitCost), output: decimalToNumber(h.newOutputUnitCost) },
        parameters: h.parameters,
        changedBy: h.changedById ? { id: h.changedById, email: h.changedByEmail } : null,
        createdAt: h.createdAt.toISOString(),
      })),
      paging: { page: q.page, pageSize: q.pageSize },
    };
  }
}
