import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { Auth } from '../auth/auth.decorators';
import { CredentialCheck, CredentialsService } from './credentials.service';
import { CreateCredentialDto, UpdateCredentialDto } from './dto/credential.dto';
import { uuidParam } from './provider-views';
import { MaskedCredential } from './providers.service';

/** A provider's credentials (admin; docs/api/providers.md "Credentials"). Responses never contain the value. */
@Controller('ai-providers/:providerId/credentials')
@Auth({ admin: true })
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  /**
   * POST …/credentials `{name, value, credentialType?: "api_key", weight?, active?}` → 201 the
   * credential masked. The value is checked first (GET {baseUrl}/models with it): refused →
   * 400 invalid_credential, provider unreachable/5xx → 502 provider_unavailable; nothing is stored
   * then. 404 provider_not_found; 409 credential_exists. Every write is audited (credentials.create,
   * credentials.update, credentials.delete; docs/audit-log.md), never with the value.
   */
  @Post()
  add(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Body() dto: CreateCredentialDto,
    @Audit() audit: AuditContext,
  ): Promise<MaskedCredential> {
    return this.credentials.add(providerId, dto, audit);
  }

  /** PUT …/credentials/:credentialId, any subset; a new value is validated like POST. Errors as POST, plus 404 credential_not_found. */
  @Put(':credentialId')
  update(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Param('credentialId', uuidParam('credentialId')) credentialId: string,
    @Body() dto: UpdateCredentialDto,
    @Audit() audit: AuditContext,
  ): Promise<MaskedCredential> {
    return this.credentials.update(providerId, credentialId, dto, audit);
  }

  /** DELETE …/credentials/:credentialId → 204. 404 credential_not_found. */
  @Delete(':credentialId')
  @HttpCode(204)
  remove(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Param('credentialId', uuidParam('credentialId')) credentialId: string,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    return this.credentials.remove(providerId, credentialId, audit);
  }

  /**
   * GET …/credentials/:credentialId/check → `{id, name, valid, status: valid|invalid|unavailable|rejected,
   * upstreamStatus, latencyMs (ms), running, checkedAt}`: a live call to the provider; the outcome
   * is recorded in the credential's health. 404 provider_not_found / credential_not_found.
   */
  @Get(':credentialId/check')
  check(
    @Param('providerId', uuidParam('providerId')) providerId: string,
    @Param('credentialId', uuidParam('credentialId')) credentialId: string,
  ): Promise<CredentialCheck> {
    return this.credentials.check(providerId, credentialId);
  }
}
