import { Global, Module } from '@nestjs/common';
import { AuditResponseHook } from './audit-response.hook';
import { AuditService } from './audit.service';

/** The audit log's writer and the response hook (docs/audit-log.md). Global: every module audits. */
@Global()
@Module({
  providers: [AuditService, AuditResponseHook],
  exports: [AuditService],
})
export class AuditModule {}
