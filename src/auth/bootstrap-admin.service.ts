import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { systemAuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { generateDid } from '../users/did';
import { normalizeEmail } from '../users/email-policy';
import { generatePassword, hashPassword } from './passwords';

/** Key of the transaction-level advisory lock that serializes first boots of several replicas. */
const BOOTSTRAP_LOCK_KEY = 'tollgate:bootstrap-admin';

/** Wait before retrying a bootstrap that could not reach the database (ms), doubled up to the max. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** What a bootstrap run did. */
export type BootstrapOutcome =
  | { created: false; reason: 'super_admin_exists' | 'email_taken' }
  | { created: true; userId: string; email: string; generatedPassword: boolean };

/**
 * First boot (docs/api/auth.md "First boot"): when no user has the role super_admin, creates one,
 * BOOTSTRAP_ADMIN_EMAIL (default admin@tollgate.local), with BOOTSTRAP_ADMIN_PASSWORD or else a
 * generated password printed once on stdout (never through the logger), and
 * `mustChangePassword = true` either way. Runs in the api process only (an application with an
 * HTTP server: the worker and the CLI scripts do not bootstrap).
 *
 * Replicas booting at once are serialized by `pg_advisory_xact_lock` in the creating transaction,
 * which re-checks that no super admin exists; the `auth.bootstrap` audit entry is written in the
 * same transaction. If the email already belongs to a user who is not a super admin, nothing is
 * created (an error is logged): that user is never promoted silently.
 *
 * The api boots even when PostgreSQL cannot be reached (GET /readyz then says so): a bootstrap
 * that fails for that reason is logged and retried with backoff (1 s doubling to 60 s) until it
 * has run once.
 */
@Injectable()
export class BootstrapAdminService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(BootstrapAdminService.name);
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return;
    await this.attempt(RETRY_FIRST_MS);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** One bootstrap run; on failure (database away) logs and schedules the next one. A bad BOOTSTRAP_ADMIN_EMAIL stops boot. */
  private async attempt(delayMs: number): Promise<void> {
    try {
      await this.bootstrap();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (this.stopped) return;
      this.log.warn(`first-boot check failed (${(err as Error).message.split('\n').pop()?.trim()}); retrying in ${delayMs} ms`);
      this.retryTimer = setTimeout(() => void this.attempt(Math.min(delayMs * 2, RETRY_MAX_MS)), delayMs);
      this.retryTimer.unref();
    }
  }

  /**
   * Creates the first super admin if there is none (safe to call concurrently from any number of
   * processes: exactly one creates it).
   * @throws DomainError 400 `INVALID_EMAIL` when BOOTSTRAP_ADMIN_EMAIL is not an email address (boot stops)
   */
  async bootstrap(): Promise<BootstrapOutcome> {
    if (await this.superAdminExists()) return { created: false, reason: 'super_admin_exists' };
    const email = normalizeEmail(this.config.accounts.bootstrapEmail, []);
    const configured = this.config.accounts.bootstrapPassword;
    const password = configured ?? generatePassword();
    const passwordHash = await hashPassword(password);
    const outcome = await this.prisma.$transaction(async (tx): Promise<BootstrapOutcome> => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${BOOTSTRAP_LOCK_KEY}))`;
      if ((await tx.user.count({ where: { role: 'super_admin' } })) > 0) return { created: false, reason: 'super_admin_exists' };
      if (await tx.user.findUnique({ where: { email }, select: { id: true } })) return { created: false, reason: 'email_taken' };
      const user = await tx.user.create({
        data: {
          did: generateDid(),
          email,
          fullName: 'Super Admin',
          role: 'super_admin',
          passwordHash,
          mustChangePassword: true,
          creditAccount: { create: {} },
        },
      });
      await this.audit.inTransaction(tx, systemAuditContext('bootstrap'), {
        action: 'auth.bootstrap',
        targetType: 'user',
        targetId: user.id,
        changes: { created: { email, role: 'super_admin', initialLogin: configured === null ? 'generated' : 'configured' } },
      });
      return { created: true, userId: user.id, email, generatedPassword: configured === null };
    });
    if (!outcome.created) {
      if (outcome.reason === 'email_taken')
        this.log.error(
          `no super admin exists and BOOTSTRAP_ADMIN_EMAIL belongs to another user: none created; set BOOTSTRAP_ADMIN_EMAIL to an unused address and restart`,
        );
      return outcome;
    }
    if (outcome.generatedPassword) process.stdout.write(frame(email, password));
    else this.log.log(`first boot: created super admin ${email} with BOOTSTRAP_ADMIN_PASSWORD (to be changed at first login)`);
    return outcome;
  }

  private async superAdminExists(): Promise<boolean> {
    return (await this.prisma.user.count({ where: { role: 'super_admin' } })) > 0;
  }
}

/** The one-time message with the generated password (stdout only; the logger never sees it). */
function frame(email: string, password: string): string {
  const rule = '='.repeat(72);
  return [
    '',
    rule,
    'Tollgate first boot: a super admin was created.',
    `  login:    ${email}`,
    `  password: ${password}`,
    'This password is shown only this once. It must be changed at first login (POST /auth/password).',
    rule,
    '',
    '',
  ].join('\n');
}
