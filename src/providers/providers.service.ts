import { Injectable } from '@nestjs/common';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { Decimal } from '../common/decimal';
import { maskSecret, SecretBoxService } from '../crypto/secret-box.service';
import { ModelType } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';

/** A credential as responses may show it: masked, never the value. */
export interface MaskedCredential {
  id: string;
  name: string;
  credentialType: string;
  active: boolean;
  weight: number;
  /** e.g. "Default Key (sk-••••key)" */
  displayText: string;
  /** e.g. { api_key: "sk-••••key" } */
  maskedValue: Record<string, string>;
}

/**
 * Providers, credentials and model rates: the writes the demo seed, the tests and the admin HTTP
 * API (docs/api/providers.md) share. Every write drops the gateway's routing catalog on all
 * replicas.
 */
@Injectable()
export class ProvidersService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly secretBox: SecretBoxService,
    private readonly catalog: CatalogService,
    private readonly audit: AuditService,
  ) {}

  async createProvider(input: { name: string; displayName: string; baseUrl: string; enabled?: boolean }) {
    const p = await this.prisma.aiProvider.create({ data: { ...input, baseUrl: input.baseUrl.replace(/\/+$/, '') } });
    await this.catalog.invalidate();
    return p;
  }

  /** What is stored of a credential value: AES-256-GCM ciphertext and the masked display form. */
  seal(value: string): { encryptedValue: string; maskedValue: string } {
    return { encryptedValue: this.secretBox.encrypt(value), maskedValue: maskSecret(value) };
  }

  /**
   * Stores a credential encrypted (AES-256-GCM); returns it masked. The one place credentials are
   * created. With `auditCtx` (an admin request), the audit entry `credentials.create` is written in
   * the same transaction: name, type, weight, active and `valueSet: true`, never the value nor its
   * masked form (docs/audit-log.md "Redaction").
   */
  async addCredential(
    providerId: string,
    input: { name: string; value: string; credentialType?: string; weight?: number; active?: boolean },
    auditCtx?: AuditContext,
  ): Promise<MaskedCredential> {
    const c = await this.prisma.$transaction(async (tx) => {
      const created = await tx.aiCredential.create({
        data: {
          providerId,
          name: input.name,
          credentialType: input.credentialType ?? 'api_key',
          ...this.seal(input.value),
          weight: input.weight ?? 100,
          active: input.active ?? true,
        },
      });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'credentials.create',
          targetType: 'credential',
          targetId: created.id,
          status: 201,
          changes: { created: { ...credentialSnapshot(created), valueSet: true } },
        });
      }
      return created;
    });
    await this.catalog.invalidate();
    return toMasked(c);
  }

  /**
   * Adds a model rate. Rates are credits per token; unit costs USD per token.
   */
  async addModelRate(
    providerId: string,
    input: {
      model: string;
      type?: ModelType;
      inputRate: Decimal | string;
      outputRate: Decimal | string;
      inputUnitCost?: Decimal | string | null;
      outputUnitCost?: Decimal | string | null;
    },
  ) {
    const r = await this.prisma.modelRate.create({
      data: {
        providerId,
        model: input.model,
        type: input.type ?? 'chatCompletion',
        inputRate: new Decimal(input.inputRate),
        outputRate: new Decimal(input.outputRate),
        inputUnitCost: input.inputUnitCost == null ? null : new Decimal(input.inputUnitCost),
        outputUnitCost: input.outputUnitCost == null ? null : new Decimal(input.outputUnitCost),
      },
    });
    await this.catalog.invalidate();
    return r;
  }
}

export function toMasked(c: {
  id: string;
  name: string;
  credentialType: string;
  active: boolean;
  weight: number;
  maskedValue: string;
}): MaskedCredential {
  return {
    id: c.id,
    name: c.name,
    credentialType: c.credentialType,
    active: c.active,
    weight: c.weight,
    displayText: `${c.name} (${c.maskedValue})`,
    maskedValue: { [c.credentialType]: c.maskedValue },
  };
}

/** The audited fields of a credential: never its value, its ciphertext or its masked form. */
export function credentialSnapshot(c: { providerId: string; name: string; credentialType: string; weight: number; active: boolean }) {
  return { providerId: c.providerId, name: c.name, credentialType: c.credentialType, weight: c.weight, active: c.active };
}
