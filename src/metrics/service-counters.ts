import { Injectable, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Counter, Gauge } from 'prom-client';
import { AuditService } from '../audit/audit.service';
import { LoginThrottleService } from '../auth/login-throttle.service';
import { CreditReserves } from '../credits/credit-reserves.service';
import { RATE_LIMIT_SCOPES, RateLimitService } from '../rate-limit/rate-limit.service';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/**
 * Counts that other services keep themselves, as plain numbers since the process started, read
 * on every scrape (the services do not depend on src/metrics):
 * - `tollgate_login_throttle_refusals_total{scope}` (account, ip): LoginThrottleService.refusals;
 * - `tollgate_audit_spilled_entries_total`, `tollgate_audit_logged_entries_total`: audit entries
 *   PostgreSQL refused that went to the Redis spill, and those that could only be logged
 *   (AuditService.spillCounts); `tollgate_audit_buffered_entries`: entries waiting in memory;
 * - `tollgate_rate_limit_refusals_total{scope}` (key_requests, key_tokens, user_requests, user_tokens,
 *   llm_config_minute, llm_config_hour), `tollgate_rate_limit_redis_failures_total`,
 *   `tollgate_rate_limit_failed_open_total`, `tollgate_rate_limit_failed_closed_total`:
 *   RateLimitService.counters();
 * - `tollgate_credit_reserve_admissions_total`: calls admitted from a credit reserve instead of a
 *   hold, `tollgate_credit_reserve_takes_total{result}` (granted, refused, failed): reserve and
 *   top-up statements, `tollgate_credit_reserves`: users with a reserve in this process
 *   (CreditReserves, docs/call-recording.md "Reserves").
 * A service missing from the process leaves its metrics at 0.
 */
@Injectable()
export class ServiceCounters {
  constructor(moduleRef: ModuleRef, metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    const find = <T>(type: Type<T>): T | null => {
      try {
        return moduleRef.get(type, { strict: false });
      } catch {
        return null;
      }
    };
    new Counter({
      name: `${METRIC_PREFIX}login_throttle_refusals_total`,
      help: 'Login and password-change attempts refused by the login throttle, by the locked scope (account, ip)',
      labelNames: ['scope'],
      registers,
      collect() {
        const refusals = find(LoginThrottleService)?.refusals ?? { account: 0, ip: 0 };
        this.reset();
        this.inc({ scope: 'account' }, refusals.account);
        this.inc({ scope: 'ip' }, refusals.ip);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}audit_spilled_entries_total`,
      help: 'Audit entries PostgreSQL refused that were written to the Redis spill (drained back later)',
      registers,
      collect() {
        this.reset();
        this.inc(find(AuditService)?.spillCounts.spilled ?? 0);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}audit_logged_entries_total`,
      help: 'Audit entries that neither PostgreSQL nor the Redis spill nor the memory buffer could take: only in the error log',
      registers,
      collect() {
        this.reset();
        this.inc(find(AuditService)?.spillCounts.logged ?? 0);
      },
    });
    const rateLimits = () => find(RateLimitService)?.counters() ?? null;
    new Counter({
      name: `${METRIC_PREFIX}rate_limit_refusals_total`,
      help: 'Calls refused by a rate limit (429), by the rule that refused (a call refused by two rules counts for both)',
      labelNames: ['scope'],
      registers,
      collect() {
        const counts = rateLimits();
        this.reset();
        for (const scope of RATE_LIMIT_SCOPES) this.inc({ scope }, counts?.refusals[scope] ?? 0);
      },
    });
    const rateLimitCounter = (name: string, help: string, read: (c: NonNullable<ReturnType<typeof rateLimits>>) => number) =>
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          const counts = rateLimits();
          this.reset();
          this.inc(counts ? read(counts) : 0);
        },
      });
    rateLimitCounter(
      'rate_limit_redis_failures_total',
      'Rate limiter round trips to Redis that failed or timed out',
      (c) => c.redisFailures,
    );
    rateLimitCounter(
      'rate_limit_failed_open_total',
      'Calls let through unchecked because the limiter could not reach Redis (policy open)',
      (c) => c.failedOpen,
    );
    rateLimitCounter(
      'rate_limit_failed_closed_total',
      'Calls refused with 503 because the limiter could not reach Redis (policy closed)',
      (c) => c.failedClosed,
    );
    const reserves = () => find(CreditReserves);
    new Counter({
      name: `${METRIC_PREFIX}credit_reserve_admissions_total`,
      help: 'Calls admitted from a credit reserve in memory instead of a hold on the account',
      registers,
      collect() {
        this.reset();
        this.inc(reserves()?.counters.admitted ?? 0);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}credit_reserve_takes_total`,
      help: 'Credit reserve statements (a new reserve or a top-up), by result: granted, refused (too few free credits), failed',
      labelNames: ['result'],
      registers,
      collect() {
        const c = reserves()?.counters;
        this.reset();
        this.inc({ result: 'granted' }, c?.granted ?? 0);
        this.inc({ result: 'refused' }, c?.refused ?? 0);
        this.inc({ result: 'failed' }, c?.failed ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}credit_reserves`,
      help: 'Users with a credit reserve in this api process',
      registers,
      collect() {
        this.set(reserves()?.size ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}audit_buffered_entries`,
      help: 'Audit entries waiting in memory (neither in PostgreSQL nor in the Redis spill yet)',
      registers,
      collect() {
        this.set(find(AuditService)?.pending() ?? 0);
      },
    });
  }
}
