import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module';
import { AdminCreditGrantsService } from './admin-credit-grants.service';
import { AdminCreditsController } from './admin-credits.controller';
import { CallSettlementRepository } from './call-settlement.repository';
import { CreditLedgerService } from './credit-ledger.service';
import { CreditQueriesService } from './credit-queries.service';
import { CreditReserves } from './credit-reserves.service';
import { CreditsController } from './credits.controller';
import { HoldLeases } from './hold-leases.service';

/** The ledger (grants, holds, debits) and the credit endpoints. */
@Module({
  imports: [SettingsModule],
  controllers: [CreditsController, AdminCreditsController],
  providers: [CreditLedgerService, CallSettlementRepository, CreditQueriesService, AdminCreditGrantsService, HoldLeases, CreditReserves],
  exports: [CreditLedgerService, CallSettlementRepository, CreditQueriesService, HoldLeases, CreditReserves],
})
export class CreditsModule {}
