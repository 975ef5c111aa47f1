import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/** `currency` of GET /user/info: how credits are displayed. */
export interface CurrencySettings {
  name: string;
  symbol: string;
  /** decimal places shown */
  decimal: number;
}

/** The runtime settings behind GET /user/info, resolved (table row, else configuration). */
export interface BillingSettings {
  /** `enableCredit` */
  creditBillingEnabled: boolean;
  /** `paymentLink` (where users buy credits), null when unset */
  paymentLink: string | null;
  /** `profileLink`, null when unset */
  profileLink: string | null;
  currency: CurrencySettings;
}

/** Keys of the `settings` table this service knows, with the value each must hold. */
export const SETTING_KEYS = {
  creditBillingEnabled: 'credit.billingEnabled',
  paymentLink: 'credit.paymentLink',
  profileLink: 'user.profileLink',
  currency: 'credit.currency',
} as const;

type SettingKey = (typeof SETTING_KEYS)[keyof typeof SETTING_KEYS];

const isUrlOrNull = (v: unknown): v is string | null => {
  if (v === null) return true;
  if (typeof v !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

const isCurrency = (v: unknown): v is CurrencySettings => {
  const c = v as CurrencySettings;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.name === 'string' &&
    c.name.length > 0 &&
    typeof c.symbol === 'string' &&
    Number.isInteger(c.decimal) &&
    c.decimal >= 0 &&
    c.decimal <= 10
  );
};

/** What each key's stored JSON must look like; a row that fails is ignored (and logged). */
const VALIDATORS: Record<SettingKey, (v: unknown) => boolean> = {
  [SETTING_KEYS.creditBillingEnabled]: (v) => typeof v === 'boolean',
  [SETTING_KEYS.paymentLink]: isUrlOrNull,
  [SETTING_KEYS.profileLink]: isUrlOrNull,
  [SETTING_KEYS.currency]: isCurrency,
};

export class InvalidSettingError extends Error {
  readonly code = 'invalid_setting';
}

/**
 * Runtime settings (docs/api/credits.md "Settings behind these answers"): `enableCredit`, `paymentLink`,
 * `profileLink` and `currency`. A row of the `settings` table (key → JSON value) overrides the
 * configuration (CREDIT_BILLING_ENABLED, CREDIT_PAYMENT_LINK, PROFILE_LINK,
 * CREDIT_CURRENCY_NAME/SYMBOL/DECIMAL), so an operator can change them without a redeploy.
 * Read per request (one indexed query on a tiny table); nothing here is on the /v1 hot path.
 */
@Injectable()
export class SettingsService {
  private readonly log = new Logger(SettingsService.name);
  private cached: { at: number; value: Promise<BillingSettings> } | null = null;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The effective billing settings: each value from its `settings` row, else from config. */
  async billing(): Promise<BillingSettings> {
    const rows = await this.prisma.setting.findMany({ where: { key: { in: Object.values(SETTING_KEYS) } } });
    const stored = new Map<string, unknown>();
    for (const row of rows) {
      const validate = VALIDATORS[row.key as SettingKey];
      if (validate(row.value)) stored.set(row.key, row.value);
      else this.log.warn(`settings row "${row.key}" has an invalid value; using the configured default`);
    }
    const pick = <T>(key: SettingKey, fallback: T): T => (stored.has(key) ? (stored.get(key) as T) : fallback);
    return {
      creditBillingEnabled: pick(SETTING_KEYS.creditBillingEnabled, this.config.credit.billingEnabled),
      paymentLink: pick(SETTING_KEYS.paymentLink, this.config.credit.paymentLink),
      profileLink: pick(SETTING_KEYS.profileLink, this.config.credit.profileLink),
      currency: pick(SETTING_KEYS.currency, this.config.credit.currency),
    };
  }

  /**
   * billing(), cached for CATALOG_CACHE_TTL_MS: what the gateway reads on every call (credit
   * billing on/off, payment link for 402). A change is seen at once by this process and within
   * that TTL by other replicas.
   */
  billingForGateway(): Promise<BillingSettings> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= this.config.cache.catalogTtlMs) {
      const value = this.billing();
      this.cached = { at: now, value };
      value.catch(() => {
        if (this.cached?.value === value) this.cached = null;
      });
    }
    return this.cached.value;
  }

  /**
   * Stores one setting (overriding the configuration).
   * @throws InvalidSettingError when the value does not fit the key
   */
  async set(key: SettingKey, value: boolean | string | null | CurrencySettings): Promise<void> {
    if (!VALIDATORS[key](value)) throw new InvalidSettingError(`invalid value for setting ${key}`);
    const json = value === null ? Prisma.JsonNull : (value as Prisma.InputJsonValue);
    await this.prisma.setting.upsert({ where: { key }, create: { key, value: json }, update: { value: json } });
    this.cached = null;
  }

  /** Removes a stored setting: the configuration's value applies again. */
  async reset(key: SettingKey): Promise<void> {
    await this.prisma.setting.deleteMany({ where: { key } });
    this.cached = null;
  }
}
