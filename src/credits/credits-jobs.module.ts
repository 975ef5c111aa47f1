import { Module } from '@nestjs/common';
import { CallSettlementRepository } from './call-settlement.repository';
import { CreditsMaintenanceProcessor } from './credits-maintenance.processor';
import { GrantExpiryProcessor } from './grant-expiry.processor';
import { GrantExpiryRepository } from './grant-expiry.repository';
import { GrantExpiryService } from './grant-expiry.service';

/**
 * The credits module's jobs, for the worker (src/worker.module.ts): `credits.apply-pending-debits`
 * and `credit-grants.expire` (docs/jobs.md). Exports the settlement repository, which call
 * recovery (ModelCallsJobsModule) settles calls with.
 */
@Module({
  providers: [CreditsMaintenanceProcessor, GrantExpiryProcessor, CallSettlementRepository, GrantExpiryService, GrantExpiryRepository],
  exports: [CallSettlementRepository],
})
export class CreditsJobsModule {}
