import { Injectable } from '@nestjs/common';
import { beforeAfter } from '../audit/audit-changes';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import { SecretBoxService } from '../crypto/secret-box.service';
import { PrismaService } from '../prisma/prisma.service';
import { CatalogService } from './catalog.service';
import { CredentialHealthRecorder } from './credential-health.recorder';
import { CreateCredentialDto, UpdateCredentialDto } from './dto/credential.dto';
import { ProbeResult, ProviderProbe } from './provider-probe.service';
import { ProviderHealthService } from './provider-health.service';
import { credentialNotFound, providerNotFound } from './provider-views';
import { credentialSnapshot, MaskedCredential, ProvidersService, toMasked } from './providers.service';

/** GET …/credentials/:id/check answer. */
export interface CredentialCheck {
  id: string;
  name: string;
  /** the provider accepted the credential (GET {baseUrl}/models answered 2xx) */
  valid: boolean;
  /** valid | invalid (401/403) | unavailable (5xx, 429, timeout, no connection) | rejected (another 4xx) */
  status: 'valid' | 'invalid' | 'unavailable' | 'rejected';
  upstreamStatus: number | null;
  /** ms the provider took */
  latencyMs: number;
  /** the credential's health after this check (GET /ai-providers/health) */
  running: boolean;
  checkedAt: string;
}

/**
 * Credentials of a provider (docs/api/providers.md "Credentials"). A new or changed secret is
 * validated against the provider (GET {baseUrl}/models with it) before anything is stored; values
 * are encrypted with SecretBoxService and only ever shown masked. Every write drops the gateway's catalog.
 */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly secretBox: SecretBoxService,
    private readonly catalog: CatalogService,
    private readonly probe: ProviderProbe,
    private readonly recorder: CredentialHealthRecorder,
    private readonly health: ProviderHealthService,
    private readonly providers: ProvidersService,
    private readonly audit: AuditService,
  ) {}

  /**
   * @throws 404 provider_not_found; 400 invalid_credential (the provider refused it: 401/403, or
   *   answered another 4xx); 502 provider_unavailable (no answer, 5xx, 429: nothing could be
   *   validated); 409 credential_exists (name taken at this provider). Audited (`credentials.create`).
   */
  async add(providerId: string, dto: CreateCredentialDto, auditCtx: AuditContext): Promise<MaskedCredential> {
    const provider = await this.provider(providerId);
    await this.validate(provider.baseUrl, dto.value);
    try {
      const masked = await this.providers.addCredential(providerId, dto, auditCtx);
      await this.health.invalidate();
      return masked;
    } catch (err) {
      if (isUniqueViolation(err)) throw this.nameTaken(dto.name);
      throw err;
    }
  }

  /**
   * A new `value` is validated first and resets the credential's health. Audited
   * (`credentials.update`: before/after of changed fields, `valueChanged: true` for a new value).
   * Errors as add(), plus 404 credential_not_found.
   */
  async update(providerId: string, credentialId: string, dto: UpdateCredentialDto, auditCtx: AuditContext): Promise<MaskedCredential> {
    const provider = await this.provider(providerId);
    const before = await this.credential(providerId, credentialId);
    if (dto.value !== undefined) await this.validate(provider.baseUrl, dto.value);
    try {
      const c = await this.prisma.$transaction(async (tx) => {
        const updated = await tx.aiCredential.update({
          where: { id: credentialId },
          data: {
            name: dto.name,
            credentialType: dto.credentialType,
            weight: dto.weight,
            active: dto.active,
            ...(dto.value !== undefined ? this.providers.seal(dto.value) : {}),
          },
        });
        if (dto.value !== undefined) await tx.credentialHealth.deleteMany({ where: { credentialId } });
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'credentials.update',
          targetType: 'credential',
          targetId: credentialId,
          changes: { ...beforeAfter(credentialSnapshot(before), credentialSnapshot(updated)), valueChanged: dto.value !== undefined },
        });
        return updated;
      });
      await this.changed();
      return toMasked(c);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.nameTaken(dto.name ?? '');
      throw err;
    }
  }

  /** Deletes the credential; audit entry `credentials.delete` with its snapshot (no value). @throws 404 credential_not_found */
  async remove(providerId: string, credentialId: string, auditCtx: AuditContext): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.aiCredential.findFirst({ where: { id: credentialId, providerId } });
      if (!before) throw credentialNotFound(credentialId);
      await tx.aiCredential.delete({ where: { id: credentialId } });
      await this.audit.inTransaction(tx, auditCtx, {
        action: 'credentials.delete',
        targetType: 'credential',
        targetId: credentialId,
        status: 204,
        changes: { deleted: credentialSnapshot(before) },
      });
    });
    await this.changed();
  }

  /**
   * Live check: lists the provider's models with the stored secret and records the outcome in
   * the credential's health (a success clears its failures; a refusal or no answer counts as one
   * failure). Always 200 with the outcome; 404 when provider or credential is unknown.
   */
  async check(providerId: string, credentialId: string): Promise<CredentialCheck> {
    const provider = await this.provider(providerId);
    const cred = await this.credential(providerId, credentialId);
    const result = await this.probe.listModels(provider.baseUrl, this.secretBox.decrypt(cred.encryptedValue));
    let healthy: boolean | null = true;
    if (result.outcome === 'ok') await this.recorder.recordSuccess(cred.id);
    else if (result.outcome === 'rejected')
      await this.recorder.recordSuccess(cred.id); // authenticated; the listing itself failed
    else healthy = await this.recorder.recordFailure(cred.id, result.error ?? 'error');
    await this.health.invalidate();
    const status = result.outcome === 'ok' ? 'valid' : result.outcome === 'unauthorized' ? 'invalid' : result.outcome;
    return {
      id: cred.id,
      name: cred.name,
      valid: result.outcome === 'ok',
      status,
      upstreamStatus: result.status,
      latencyMs: result.latencyMs,
      running: cred.active && healthy !== false,
      checkedAt: new Date().toISOString(),
    };
  }

  private async validate(baseUrl: string, secret: string): Promise<void> {
    const r: ProbeResult = await this.probe.listModels(baseUrl, secret);
    if (r.outcome === 'ok') return;
    if (r.outcome === 'unavailable') {
      throw DomainError.badGateway(
        'provider_unavailable',
        `The provider could not validate the credential (${r.error}); nothing was stored`,
        { upstreamStatus: r.status },
      );
    }
    throw DomainError.badRequest('invalid_credential', `The provider refused the credential (${r.error}); nothing was stored`, {
      upstreamStatus: r.status,
    });
  }

  private async provider(id: string) {
    const p = await this.prisma.aiProvider.findUnique({ where: { id } });
    if (!p) throw providerNotFound(id);
    return p;
  }

  private async credential(providerId: string, id: string) {
    const c = await this.prisma.aiCredential.findFirst({ where: { id, providerId } });
    if (!c) throw credentialNotFound(id);
    return c;
  }

  private nameTaken(name: string) {
    return DomainError.conflict('credential_exists', `This provider has a credential named "${name}"`);
  }

  private async changed(): Promise<void> {
    await this.catalog.invalidate();
    await this.health.invalidate();
  }
}
