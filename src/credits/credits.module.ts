import { Module } from '@nestjs/common';
import { CallSettlementRepository } from './call-settlement.repository';
import { CreditLedgerService } from './credit-ledger.service';

@Module({ providers: [CreditLedgerService, CallSettlementRepository], exports: [CreditLedgerService, CallSettlementRepository] })
export class CreditsModule {}
