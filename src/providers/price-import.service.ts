import { Injectable } from '@nestjs/common';
import { calcPrice, findProvider, type ModelPrice, type Provider as CatalogProvider } from '@pydantic/genai-prices';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';
import { RateHistoryRepository } from './rate-history.repository';

/** USD per token from a catalog price in USD per million tokens (exact: a power-of-ten division). */
function perToken(mtok: ModelPrice[string]): Decimal | null {
  const n = typeof mtok === 'number' ? mtok : mtok && typeof mtok === 'object' && typeof mtok.base === 'number' ? mtok.base : null;
  return n === null || !Number.isFinite(n) || n < 0 ? null : new Decimal(String(n)).div(1_000_000);
}

export interface PriceImportOptions {
  /** our provider's name (ai_providers.name) */
  provider: string;
  /** the catalog's provider id when it differs from ours (default: our name, then our base URL) */
  catalogProvider?: string;
  /** report what would change, change nothing */
  dryRun?: boolean;
}

export interface PriceImportReport {
  provider: string;
  catalogProvider: string;
  dryRun: boolean;
  /** rates whose unit costs were (or, dry run, would be) set */
  updated: {
    rateId: string;
    model: string;
    type: string;
    catalogModel: string;
    inputUnitCost: string;
    outputUnitCost: string;
    previous: { input: string | null; output: string | null };
  }[];
  /** rates that already had exactly the catalog's unit costs */
  unchanged: string[];
  /** rates the catalog has no price for (unit costs left as they were) */
  unmatched: string[];
}

export class PriceImportError extends Error {}

/**
 * Fills the input/output unit costs (USD per token) of a provider's model rates from the price
 * catalog shipped in the npm package @pydantic/genai-prices (data bundled in the package, no
 * network). Model names are matched with the catalog's own rules (calcPrice). Rates themselves
 * (credits per token) are not touched: POST /ai-providers/bulk-rate-update derives them from the
 * unit costs. Changes are written in one transaction with a `price-import` history row each.
 */
@Injectable()
export class PriceImportService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly catalog: CatalogService,
    private readonly history: RateHistoryRepository,
  ) {}

  /** @throws PriceImportError when the provider is unknown here or in the catalog */
  async import(opts: PriceImportOptions): Promise<PriceImportReport> {
    const provider = await this.prisma.aiProvider.findUnique({
      where: { name: opts.provider },
      include: { modelRates: { orderBy: [{ model: 'asc' }, { type: 'asc' }] } },
    });
    if (!provider) throw new PriceImportError(`no provider named "${opts.provider}"`);
    const catalogProvider: CatalogProvider | undefined = opts.catalogProvider
      ? findProvider({ providerId: opts.catalogProvider })
      : (findProvider({ providerId: provider.name }) ?? findProvider({ providerApiUrl: provider.baseUrl }));
    if (!catalogProvider)
      throw new PriceImportError(
        `the price catalog has no provider "${opts.catalogProvider ?? provider.name}" (pass --catalog-provider <id>)`,
      );

    const report: PriceImportReport = {
      provider: provider.name,
      catalogProvider: catalogProvider.id,
      dryRun: !!opts.dryRun,
      updated: [],
      unchanged: [],
      unmatched: [],
    };
    const changes: { rate: (typeof provider.modelRates)[number]; input: Decimal; output: Decimal; catalogModel: string }[] = [];
    for (const rate of provider.modelRates) {
      const hit = calcPrice({ input_tokens: 1, output_tokens: 1 }, rate.model, { provider: catalogProvider });
      const input = hit ? perToken(hit.model_price.input_mtok) : null;
      // Embeddings have no output price in the catalog: nothing is charged for output.
      const output = hit ? (perToken(hit.model_price.output_mtok) ?? (rate.type === 'embedding' ? new Decimal(0) : null)) : null;
      if (!hit || input === null || output === null) {
        report.unmatched.push(rate.model);
        continue;
      }
      if (rate.inputUnitCost?.eq(input) && rate.outputUnitCost?.eq(output)) {
        report.unchanged.push(rate.model);
        continue;
      }
      changes.push({ rate, input, output, catalogModel: hit.model.id });
      report.updated.push({
        rateId: rate.id,
        model: rate.model,
        type: rate.type,
        catalogModel: hit.model.id,
        inputUnitCost: input.toFixed(),
        outputUnitCost: output.toFixed(),
        previous: { input: rate.inputUnitCost?.toFixed() ?? null, output: rate.outputUnitCost?.toFixed() ?? null },
      });
    }
    if (opts.dryRun || changes.length === 0) return report;

    await this.prisma.$transaction(async (tx) => {
      for (const c of changes) {
        await tx.modelRate.update({ where: { id: c.rate.id }, data: { inputUnitCost: c.input, outputUnitCost: c.output } });
      }
      await this.history.record(
        tx,
        changes.map((c) => ({
          rate: c.rate,
          providerName: provider.name,
          before: c.rate,
          after: { ...c.rate, inputUnitCost: c.input, outputUnitCost: c.output },
        })),
        {
          action: 'price-import',
          reason: `@pydantic/genai-prices (${catalogProvider.id})`,
          actor: null,
          parameters: { catalog: '@pydantic/genai-prices', catalogProvider: catalogProvider.id },
        },
      );
    });
    await this.catalog.invalidate();
    return report;
  }
}
