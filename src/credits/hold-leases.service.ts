import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CreditLedgerService } from './credit-ledger.service';

/**
 * Keeps the holds of this process's calls in flight alive (docs/call-recording.md "Interrupted
 * calls"). A hold expires CREDIT_HOLD_TTL_SECONDS after it was last renewed; this service renews
 * every running call's hold each quarter of that, in one statement. When the process dies the
 * renewals stop, the holds expire, and the worker turns each into an `interrupted` call.
 */
@Injectable()
export class HoldLeases implements OnModuleDestroy {
  private readonly log = new Logger(HoldLeases.name);
  private readonly running = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ledger: CreditLedgerService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(500, (config.credit.holdTtlSeconds * 1000) / 4));
    this.timer.unref();
  }

  /** The call's hold was written: keep it alive until `end`. */
  start(callId: string): void {
    this.running.add(callId);
  }

  /** The call is recorded (or could not be): stop renewing its hold. */
  end(callId: string): void {
    this.running.delete(callId);
  }

  /** Calls whose holds this process renews. */
  get size(): number {
    return this.running.size;
  }

  /** Renews every running call's hold now. Failures are logged; the next tick tries again. */
  async renew(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      await this.ledger.renewHolds([...this.running]);
    } catch (err) {
      this.log.warn(`renewing ${this.running.size} call holds failed: ${(err as Error).message}`);
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
