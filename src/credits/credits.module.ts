import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module';
import { AdminCreditGrantsService } from './admin-credit-grants.service';
import { AdminCreditsController } from './admin-credits.controller';
import { CallSettlementRepository } from './call-settlement.repository';
import { CreditLedgerService } from './credit-ledger.service';
import { CreditQueriesService } from './credit-queries.service';
import { CreditsController } from './credits.controller';

/** The ledger (the only code that changes balances) and the credit endpoints of seed 004. */
@Module({
  imports: [SettingsModule],
  controllers: [CreditsController, AdminCreditsController],
  providers: [CreditLedgerService, CallSettlementRepository, CreditQueriesService, AdminCreditGrantsService],
  exports: [CreditLedgerService, CallSettlementRepository, CreditQueriesService],
})
export class CreditsModule {}
