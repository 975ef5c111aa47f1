import { Injectable } from '@nestjs/common';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { Decimal } from '../common/decimal';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';
import { toDecimal } from './dto/decimal-value';
import { BulkRateUpdateDto } from './dto/model-rate.dto';
import { decimalToNumber, rateFromUnitCost } from './rate-math';
import { Actor, RateHistoryRepository } from './rate-history.repository';

/** POST /ai-providers/bulk-rate-update response (docs/api/providers.md "Model rates"). Rates in credits per token. */
export interface BulkRateUpdateResult {
  message: string;
  updated: number;
  skipped: number;
  parameters: { profitMargin: number; creditPrice: number };
  summary: {
    id: string;
    model: string;
    /** provider display name */
    provider: string;
    oldInputRate: number;
    newInputRate: number;
    oldOutputRate: number;
    newOutputRate: number;
  }[];
}

interface LockedRate {
  id: string;
  provider_id: string;
  model: string;
  type: 'chatCompletion' | 'embedding' | 'imageGeneration';
  input_rate: Decimal;
  output_rate: Decimal;
  input_unit_cost: Decimal | null;
  output_unit_cost: Decimal | null;
  provider_name: string;
  provider_display_name: string;
}

/**
 * Re-prices every model rate from its unit costs in one transaction (docs/api/providers.md):
 * rate = unitCost × (1 + profitMargin/100) / creditPrice, for input and output, exact decimals
 * rounded half up to 18 places (rate-math.ts). Rates without both unit costs are skipped and
 * counted. All rates are locked first, so a concurrent edit waits; each change lands in
 * model_rate_history with the parameters, in the same transaction.
 */
@Injectable()
export class BulkRateUpdateService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly catalog: CatalogService,
    private readonly history: RateHistoryRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * @throws 400 rate_out_of_range `{rateId, field: inputRate|outputRate}` when a new rate does not
   *   fit numeric(38,18) (checked for every rate before any is written; nothing is changed)
   * One audit entry `model-rates.bulk-update` in the same transaction: parameters, reason, counts and
   * each changed rate's old and new rates (docs/audit-log.md).
   */
  async apply(dto: BulkRateUpdateDto, actor: Actor | null, auditCtx: AuditContext): Promise<BulkRateUpdateResult> {
    const margin = toDecimal(dto.profitMargin);
    const creditPrice = toDecimal(dto.creditPrice);
    const parameters = { profitMargin: margin.toNumber(), creditPrice: creditPrice.toNumber() };
    const result = await this.prisma.$transaction(
      async (tx) => {
        const rates = await tx.$queryRaw<LockedRate[]>`
          SELECT r.id, r.provider_id, r.model, r.type::text AS type, r.input_rate, r.output_rate, r.input_unit_cost, r.output_unit_cost,
                 p.name AS provider_name, p.display_name AS provider_display_name
          FROM model_rates r JOIN ai_providers p ON p.id = r.provider_id
          ORDER BY p.name, r.model, r.type
          FOR UPDATE OF r`;
        const priced = rates.filter((r) => r.input_unit_cost !== null && r.output_unit_cost !== null);
        // every new rate is computed and range-checked before anything is written
        const rate = (r: LockedRate, field: 'inputRate' | 'outputRate', unitCost: Decimal) => {
          try {
            return rateFromUnitCost(unitCost, margin, creditPrice);
          } catch (err) {
            throw DomainError.badRequest(
              'rate_out_of_range',
              `The new ${field} of ${r.provider_name}/${r.model}: ${(err as Error).message}; nothing was changed`,
              { rateId: r.id, field },
            );
          }
        };
        const changes = priced.map((r) => ({
          r,
          input: rate(r, 'inputRate', new Decimal(r.input_unit_cost!)),
          output: rate(r, 'outputRate', new Decimal(r.output_unit_cost!)),
        }));
        if (changes.length) {
          await tx.$executeRaw`
            UPDATE model_rates m SET input_rate = v.i::numeric, output_rate = v.o::numeric, updated_at = now()
            FROM unnest(${changes.map((c) => c.r.id)}::uuid[], ${changes.map((c) => c.input.toFixed())}::text[], ${changes.map((c) => c.output.toFixed())}::text[]) AS v(id, i, o)
            WHERE m.id = v.id`;
          await this.history.record(
            tx,
            changes.map((c) => ({
              rate: { id: c.r.id, providerId: c.r.provider_id, model: c.r.model, type: c.r.type },
              providerName: c.r.provider_name,
              before: {
                inputRate: new Decimal(c.r.input_rate),
                outputRate: new Decimal(c.r.output_rate),
                inputUnitCost: new Decimal(c.r.input_unit_cost!),
                outputUnitCost: new Decimal(c.r.output_unit_cost!),
              },
              after: {
                inputRate: c.input,
                outputRate: c.output,
                inputUnitCost: new Decimal(c.r.input_unit_cost!),
                outputUnitCost: new Decimal(c.r.output_unit_cost!),
              },
            })),
            {
              action: 'bulk-rate-update',
              reason: dto.reason,
              actor,
              parameters: { profitMargin: margin.toFixed(), creditPrice: creditPrice.toFixed() },
            },
          );
        }
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'model-rates.bulk-update',
          targetType: 'model_rate',
          changes: {
            parameters: { profitMargin: margin.toFixed(), creditPrice: creditPrice.toFixed() },
            reason: dto.reason ?? null,
            updated: changes.length,
            skipped: rates.length - priced.length,
            rates: changes.map((c) => ({
              id: c.r.id,
              provider: c.r.provider_name,
              model: c.r.model,
              before: { inputRate: new Decimal(c.r.input_rate).toFixed(), outputRate: new Decimal(c.r.output_rate).toFixed() },
              after: { inputRate: c.input.toFixed(), outputRate: c.output.toFixed() },
            })),
          },
        });
        return { changes, skipped: rates.length - priced.length };
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
    await this.catalog.invalidate();
    return {
      message: `Successfully updated ${result.changes.length} model rates`,
      updated: result.changes.length,
      skipped: result.skipped,
      parameters,
      summary: result.changes.map((c) => ({
        id: c.r.id,
        model: c.r.model,
        provider: c.r.provider_display_name,
        oldInputRate: decimalToNumber(new Decimal(c.r.input_rate)) as number,
        newInputRate: decimalToNumber(c.input) as number,
        oldOutputRate: decimalToNumber(new Decimal(c.r.output_rate)) as number,
        newOutputRate: decimalToNumber(c.output) as number,
      })),
    };
  }
}
