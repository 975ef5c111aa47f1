import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SecretBoxService } from '../crypto/secret-box.service';
import { Decimal } from '../common/decimal';
import { ModelType } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';
import { InvalidationBus } from '../redis/invalidation-bus.service';

/** A usable credential, decrypted in memory only. Never logged or returned. */
export interface RouteCredential {
  id: string;
  name: string;
  secret: string;
  weight: number;
}

export interface RouteProvider {
  id: string;
  name: string;
  displayName: string;
  /** Base URL including the version path, without trailing slash. */
  baseUrl: string;
  credentials: RouteCredential[];
}

/** Where a requested model goes and what it costs. Rates are credits per token (Decimal). */
export interface ModelRoute {
  provider: RouteProvider;
  model: string;
  type: ModelType;
  inputRate: Decimal;
  outputRate: Decimal;
  rateId: string;
}

interface Catalog {
  /** "provider/model|type" → route */
  byKey: Map<string, ModelRoute>;
  /** "model|type" → routes at every provider offering it, by provider name */
  byModel: Map<string, ModelRoute[]>;
  routes: ModelRoute[];
}

/** Bus channel (the bus prefixes it with QUEUE_PREFIX). */
const INVALIDATE_CHANNEL = 'catalog:invalidate';

/**
 * The routing table of the gateway: enabled providers with their active credentials (decrypted)
 * and enabled model rates. Loaded from PostgreSQL, cached for CATALOG_CACHE_TTL_MS, and dropped
 * on every replica when an admin change publishes an invalidation. While the bus cannot receive
 * invalidations (its subscriber connection is down) the catalog is trusted for at most
 * DISCONNECTED_TRUST_MS (1 s), and it is dropped when the connection is lost and when it is back.
 */
@Injectable()
export class CatalogService implements OnModuleInit {
  private readonly log = new Logger(CatalogService.name);
  private catalog: Catalog | null = null;
  private loadedAt = 0;
  private loading: Promise<Catalog> | null = null;
  private generation = 0;

  constructor(
    private readonly prisma: PrismaService,
    private readonly secretBox: SecretBoxService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: InvalidationBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.bus.onReset(() => this.drop());
    await this.bus.subscribe(INVALIDATE_CHANNEL, () => this.drop());
  }

  /** Call after any change to providers, credentials or rates. */
  async invalidate(): Promise<void> {
    this.drop();
    await this.bus.publish(INVALIDATE_CHANNEL, '1');
  }

  /**
   * Candidate routes for a requested model name: "provider/model" → that provider's rate (if any),
   * else every enabled provider offering a model of exactly that name, providers with an active
   * credential first, then by provider name. Empty when nothing offers the model for this type.
   */
  async candidates(requested: string, type: ModelType): Promise<ModelRoute[]> {
    const c = await this.get();
    if (requested.indexOf('/') > 0) {
      const exact = c.byKey.get(`${requested}|${type}`);
      if (exact) return [exact];
    }
    const list = c.byModel.get(`${requested}|${type}`) ?? [];
    return [...list].sort((a, b) => Number(b.provider.credentials.length > 0) - Number(a.provider.credentials.length > 0));
  }

  /** Every route of the given type (for GET /v1/models). */
  async routes(type?: ModelType): Promise<ModelRoute[]> {
    const c = await this.get();
    return type ? c.routes.filter((r) => r.type === type) : c.routes;
  }

  private drop(): void {
    this.generation++;
    this.catalog = null;
  }

  private async get(): Promise<Catalog> {
    if (this.catalog && Date.now() - this.loadedAt < this.bus.maxTrustMs(this.config.cache.catalogTtlMs)) return this.catalog;
    if (!this.loading) {
      const gen = this.generation;
      const startedAt = Date.now();
      this.loading = this.load()
        .then((c) => {
          if (gen === this.generation) {
            this.catalog = c;
            this.loadedAt = startedAt; // its age counts from the read, not from the end of loading
          }
          return c;
        })
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  private async load(): Promise<Catalog> {
    const providers = await this.prisma.aiProvider.findMany({
      where: { enabled: true },
      orderBy: { name: 'asc' },
      include: {
        credentials: { where: { active: true }, orderBy: { name: 'asc' } },
        modelRates: { where: { enabled: true }, orderBy: { model: 'asc' } },
      },
    });
    const byKey = new Map<string, ModelRoute>();
    const byModel = new Map<string, ModelRoute[]>();
    const routes: ModelRoute[] = [];
    for (const p of providers) {
      const credentials: RouteCredential[] = [];
      for (const cred of p.credentials) {
        try {
          credentials.push({
            id: cred.id,
            name: cred.name,
            secret: this.secretBox.decrypt(cred.encryptedValue),
            weight: Math.max(0, cred.weight),
          });
        } catch (err) {
          this.log.error(`credential ${cred.id} of provider ${p.name} cannot be decrypted: ${(err as Error).message}`);
        }
      }
      const provider: RouteProvider = {
        id: p.id,
        name: p.name,
        displayName: p.displayName,
        baseUrl: p.baseUrl.replace(/\/+$/, ''),
        credentials,
      };
      for (const rate of p.modelRates) {
        const route: ModelRoute = {
          provider,
          model: rate.model,
          type: rate.type,
          inputRate: rate.inputRate,
          outputRate: rate.outputRate,
          rateId: rate.id,
        };
        routes.push(route);
        byKey.set(`${p.name}/${rate.model}|${rate.type}`, route);
        const k = `${rate.model}|${rate.type}`;
        const list = byModel.get(k);
        if (list) list.push(route);
        else byModel.set(k, [route]);
      }
    }
    return { byKey, byModel, routes };
  }
}
