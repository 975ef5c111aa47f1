import { Global, Module } from '@nestjs/common';
import { AuditExportService } from './audit-export.service';
import { AuditLogsController } from './audit-logs.controller';
import { AuditLogsRepository } from './audit-logs.repository';
import { AuditResponseHook } from './audit-response.hook';
import { AuditService } from './audit.service';

/** The audit log's writer, the response hook and the read API (docs/audit-log.md). Global: every module audits. */
@Global()
@Module({
  controllers: [AuditLogsController],
  providers: [AuditService, AuditResponseHook, AuditLogsRepository, AuditExportService],
  exports: [AuditService],
})
export class AuditModule {}
