/**
 * SQL snapshots of the hot-path and money-moving statements (docs/data-access.md "SQL
 * snapshots"). Each group of statements is rendered from the repositories' query builders, for a
 * fixed representative input, and compared with its checked-in file in src/database/queries/, so
 * a change to one of these statements shows up in review as a change to a .sql file. No database:
 * the builders only produce text and values.
 *
 * When a statement changed on purpose, rewrite the files and commit them with the change:
 *   UPDATE_SQL_SNAPSHOTS=1 npx jest src/database/sql-snapshots.spec.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryConfig } from 'pg';
import { Decimal } from '../common/decimal';
import { CallHold, creditLedgerQueries } from '../credits/credit-ledger.service';
import { settlementQueries } from '../credits/call-settlement.repository';
import { creditReserveQueries } from '../credits/credit-reserves.service';
import { grantExpiryQueries } from '../credits/grant-expiry.repository';
import { keyQueries } from '../keys/keys.repository';
import { hourlyStatsQueries } from '../model-calls/hourly-stats.repository';
import { modelCallQueries } from '../model-calls/model-call.repository';
import { CallRecord } from '../model-calls/call-record';

const DIR = join(__dirname, 'queries');
const UPDATE = process.env.UPDATE_SQL_SNAPSHOTS === '1';
const UPDATE_COMMAND = 'UPDATE_SQL_SNAPSHOTS=1 npx jest src/database/sql-snapshots.spec.ts';

interface Statement {
  /** the method (or methods) that run it */
  by: string;
  query: QueryConfig;
}

interface Snapshot {
  /** file name in src/database/queries/, without .sql */
  name: string;
  /** where the statements are built */
  source: string;
  statements: Statement[];
}

// Representative inputs: fixed, so the rendering never depends on the clock or the time zone.
const USER = '11111111-1111-4111-8111-111111111111';
const CALL = '22222222-2222-4222-8222-222222222222';
const GRANT = '33333333-3333-4333-8333-333333333333';
const T0 = new Date('2030-01-01T10:00:00.000Z');
const T1 = new Date('2030-01-01T11:00:00.000Z');
const T2 = new Date('2030-01-01T12:00:00.000Z');
const TTL_SECONDS = 120;

/** The representative hold of the credit-hold snapshots. */
const HOLD: CallHold = {
  userId: USER,
  callId: CALL,
  amount: new Decimal('0.5'),
  enforce: true,
  apiKeyId: '44444444-4444-4444-8444-444444444444',
  providerId: '55555555-5555-4555-8555-555555555555',
  model: 'mock-model',
  type: 'chatCompletion',
  stream: false,
  requestId: 'request-1',
  appDid: null,
  promptTokensEstimate: 12,
  inputRate: new Decimal('0.0001'),
  startedAt: T0.getTime(),
};

const RECORD: CallRecord = {
  id: CALL,
  userId: USER,
  apiKeyId: '44444444-4444-4444-8444-444444444444',
  providerId: '55555555-5555-4555-8555-555555555555',
  credentialId: '66666666-6666-4666-8666-666666666666',
  model: 'mock-model',
  type: 'chatCompletion',
  status: 'success',
  stream: true,
  promptTokens: 12,
  completionTokens: 34,
  usageSource: 'upstream',
  credits: new Decimal('0.0046'),
  durationMs: 250,
  appDid: 'app-did',
  requestId: 'request-1',
  upstreamStatus: 200,
  errorCode: null,
  errorMessage: null,
  createdAt: T0,
  billable: true,
  hasHold: true,
};

const SNAPSHOTS: readonly Snapshot[] = [
  {
    name: 'record-calls',
    source: 'src/model-calls/model-call.repository.ts',
    statements: [
      {
        by: 'ModelCallRepository.insert, ModelCallRepository.insertOn (one billable call)',
        query: modelCallQueries.record([RECORD]),
      },
      {
        by: 'ModelCallRepository.insert with CALL_RECORD_SYNCHRONOUS_COMMIT=false (one billable call)',
        query: modelCallQueries.record([RECORD], { synchronousCommit: false }),
      },
    ],
  },
  {
    name: 'credit-hold',
    source: 'src/credits/credit-ledger.service.ts',
    statements: [
      {
        by: 'CreditLedgerService.holdForCall (one call)',
        query: creditLedgerQueries.hold(HOLD, TTL_SECONDS),
      },
      {
        by: 'CreditLedgerService.holdForCall (a batch)',
        query: creditLedgerQueries.holdBatch(
          [HOLD, { ...HOLD, callId: '66666666-6666-4666-8666-666666666666', appDid: 'did:app' }],
          TTL_SECONDS,
        ),
      },
    ],
  },
  {
    name: 'renew-holds',
    source: 'src/credits/credit-ledger.service.ts',
    statements: [{ by: 'CreditLedgerService.renewHolds', query: creditLedgerQueries.renewHolds([CALL], TTL_SECONDS) }],
  },
  {
    name: 'credit-reserves',
    source: 'src/credits/credit-reserves.service.ts',
    statements: [
      {
        by: 'CreditReserves.take (a new reserve or a top-up)',
        query: creditReserveQueries.take(CALL, HOLD.userId, new Decimal('5000'), new Decimal('15000'), TTL_SECONDS),
      },
      { by: 'CreditReserves.tick', query: creditReserveQueries.renew([CALL], TTL_SECONDS) },
      { by: 'CreditReserves.releaseAll, CreditReserves.tick', query: creditReserveQueries.release([CALL], false) },
      { by: 'CallSettlementRepository.releaseExpiredReserves', query: creditReserveQueries.expired(500) },
      { by: 'CallSettlementRepository.releaseExpiredReserves', query: creditReserveQueries.release([CALL], true) },
    ],
  },
  {
    name: 'apply-debits',
    source: 'src/credits/call-settlement.repository.ts',
    statements: [
      { by: 'CallSettlementRepository.applyDebits', query: settlementQueries.applyDebits([CALL]) },
      { by: 'CallSettlementRepository.pendingDebits', query: settlementQueries.pendingDebits(T0, 500) },
    ],
  },
  {
    name: 'interrupt-orphaned-calls',
    source: 'src/model-calls/model-call.repository.ts',
    statements: [{ by: 'ModelCallRepository.interruptOrphanedCalls', query: modelCallQueries.interruptOrphanedCalls(100) }],
  },
  {
    name: 'grant-expiry',
    source: 'src/credits/grant-expiry.repository.ts',
    statements: [
      { by: 'GrantExpiryRepository.dueUsers', query: grantExpiryQueries.dueUsers(T0, '00000000-0000-0000-0000-000000000000', 200) },
      { by: 'GrantExpiryRepository.lockAccount', query: grantExpiryQueries.lockAccount(USER) },
      { by: 'GrantExpiryRepository.dueGrants', query: grantExpiryQueries.dueGrants(USER, T0) },
      { by: 'GrantExpiryRepository.permanentCredit', query: grantExpiryQueries.permanentCredit(USER) },
      { by: 'GrantExpiryRepository.laterGrants', query: grantExpiryQueries.laterGrants(GRANT) },
      { by: 'GrantExpiryRepository.setBalance', query: grantExpiryQueries.setBalance(USER, new Decimal('7.25'), T0) },
      {
        by: 'GrantExpiryRepository.insertExpiry',
        query: grantExpiryQueries.insertExpiry({
          userId: USER,
          grantId: GRANT,
          amount: new Decimal('-2.75'),
          balanceAfter: new Decimal('7.25'),
          description: 'credit grant expired: welcome',
          at: T0,
        }),
      },
      { by: 'GrantExpiryRepository.markExpired', query: grantExpiryQueries.markExpired(GRANT, new Decimal('2.75'), T0) },
    ],
  },
  {
    name: 'hourly-aggregation',
    source: 'src/model-calls/hourly-stats.repository.ts',
    statements: [
      { by: 'HourlyStatsRepository.lockWriters', query: hourlyStatsQueries.lockWriters() },
      { by: 'HourlyStatsRepository.nextRun', query: hourlyStatsQueries.nextRun(60_000) },
      { by: 'HourlyStatsRepository.deleteBefore', query: hourlyStatsQueries.deleteBefore(T1) },
      { by: 'HourlyStatsRepository.oldestHour', query: hourlyStatsQueries.oldestHour(T1) },
      { by: 'HourlyStatsRepository.countHours', query: hourlyStatsQueries.countHours() },
      { by: 'HourlyStatsRepository.lateHours', query: hourlyStatsQueries.lateHours(T0, T1, T0) },
      { by: 'HourlyStatsRepository.deleteHours', query: hourlyStatsQueries.deleteHours([T0]) },
      { by: 'HourlyStatsRepository.aggregateHours', query: hourlyStatsQueries.aggregateHours([T0], T1) },
      { by: 'HourlyStatsRepository.deleteRange', query: hourlyStatsQueries.deleteRange(T0, T1) },
      { by: 'HourlyStatsRepository.aggregateRange', query: hourlyStatsQueries.aggregateRange(T0, T1, T1) },
      { by: 'HourlyStatsRepository.rebuildTotalsBefore (1/2)', query: hourlyStatsQueries.deleteTotalsBefore(T1) },
      { by: 'HourlyStatsRepository.rebuildTotalsBefore (2/2)', query: hourlyStatsQueries.sumTotalsBefore(T1) },
      { by: 'HourlyStatsRepository.rebuildTotalsHours (1/2)', query: hourlyStatsQueries.deleteTotalsHours([T0]) },
      { by: 'HourlyStatsRepository.rebuildTotalsHours (2/2)', query: hourlyStatsQueries.sumTotalsHours([T0]) },
      { by: 'HourlyStatsRepository.rebuildTotalsRange (1/2)', query: hourlyStatsQueries.deleteTotalsRange(T0, T1) },
      { by: 'HourlyStatsRepository.rebuildTotalsRange (2/2)', query: hourlyStatsQueries.sumTotalsRange(T0, T1) },
      { by: 'HourlyStatsRepository.deleteDailyBefore', query: hourlyStatsQueries.deleteDailyBefore(T0) },
      { by: 'HourlyStatsRepository.rebuildDays (every user, 1/4)', query: hourlyStatsQueries.deleteDailyStats([T0]) },
      { by: 'HourlyStatsRepository.rebuildDays (every user, 2/4)', query: hourlyStatsQueries.sumDailyStats([T0]) },
      { by: 'HourlyStatsRepository.rebuildDays (one user, 1/4)', query: hourlyStatsQueries.deleteUserDailyStats([T0], USER) },
      { by: 'HourlyStatsRepository.rebuildDays (one user, 2/4)', query: hourlyStatsQueries.sumUserDailyStats([T0], USER) },
      { by: 'HourlyStatsRepository.rebuildDays (3/4)', query: hourlyStatsQueries.deleteDailyTotals([T0]) },
      { by: 'HourlyStatsRepository.rebuildDays (4/4)', query: hourlyStatsQueries.sumDailyTotals([T0]) },
      { by: 'HourlyStatsRepository.saveWatermarks', query: hourlyStatsQueries.saveWatermarks(T1, T1) },
      { by: 'HourlyStatsRepository.watermarks', query: hourlyStatsQueries.watermarks() },
      { by: 'HourlyStatsRepository.hourRange', query: hourlyStatsQueries.hourRange(T0, T2, T1) },
      { by: 'HourlyStatsRepository.countUserStatHours', query: hourlyStatsQueries.countUserStatHours(USER, T0, T1) },
      { by: 'HourlyStatsRepository.countUserCallHours', query: hourlyStatsQueries.countUserCallHours(USER, T0, T1, T1) },
      { by: 'HourlyStatsRepository.deleteUserRange', query: hourlyStatsQueries.deleteUserRange(USER, T0, T1) },
      { by: 'HourlyStatsRepository.aggregateUserRange', query: hourlyStatsQueries.aggregateUserRange(USER, T0, T1, T1) },
    ],
  },
  {
    name: 'virtual-keys',
    source: 'src/keys/keys.repository.ts',
    statements: [
      {
        by: 'KeysRepository.findBySecretHash (the key check on a cache miss)',
        query: keyQueries.findBySecretHash('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
      },
      {
        by: 'KeysRepository.budgetExhausted (each call of a key with a credit budget)',
        query: keyQueries.budgetExhausted('44444444-4444-4444-8444-444444444444'),
      },
      { by: 'KeysRepository.touchLastUsed', query: keyQueries.touchLastUsed('44444444-4444-4444-8444-444444444444') },
    ],
  },
];

/** The file's text: a header, then per statement its method, prepared-statement name, sample values and text. */
function renderSnapshot(s: Snapshot): string {
  const parts = [
    [
      `-- Generated by src/database/sql-snapshots.spec.ts from ${s.source}; do not edit by hand.`,
      `-- A change here is a change to the SQL: review it. Rewrite with: ${UPDATE_COMMAND}`,
      '-- Values are those of a fixed representative input.',
    ].join('\n'),
  ];
  for (const st of s.statements) {
    const lines = [`-- ${st.by}`];
    if (st.query.name) lines.push(`-- prepared statement: ${st.query.name}`);
    (st.query.values ?? []).forEach((v, i) => lines.push(`-- $${i + 1} = ${JSON.stringify(v)}`));
    lines.push(`${st.query.text.trim()};`);
    parts.push(lines.join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

/** A line diff (longest common subsequence) of two texts, changed lines with two lines of context. */
function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: { mark: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ mark: ' ', line: a[i] });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ mark: '-', line: a[i++] });
    } else {
      out.push({ mark: '+', line: b[j++] });
    }
  }
  const keep = out.map((_, k) => out.slice(Math.max(0, k - 2), k + 3).some((o) => o.mark !== ' '));
  const shown: string[] = [];
  out.forEach((o, k) => {
    if (keep[k]) shown.push(`${o.mark} ${o.line}`);
    else if (keep[k - 1]) shown.push('  …');
  });
  return shown.join('\n');
}

describe('SQL snapshots (src/database/queries/)', () => {
  beforeAll(() => {
    if (UPDATE) mkdirSync(DIR, { recursive: true });
  });

  it.each(SNAPSHOTS.map((s) => [s.name, s] as const))('%s.sql matches the statements', (name, snapshot) => {
    const file = join(DIR, `${name}.sql`);
    const actual = renderSnapshot(snapshot);
    if (UPDATE) {
      if (!existsSync(file) || readFileSync(file, 'utf8') !== actual) writeFileSync(file, actual);
      return;
    }
    if (!existsSync(file)) {
      throw new Error(`src/database/queries/${name}.sql is missing. Write it with:\n  ${UPDATE_COMMAND}`);
    }
    const expected = readFileSync(file, 'utf8');
    if (expected !== actual) {
      throw new Error(
        `The SQL of ${snapshot.source} no longer matches src/database/queries/${name}.sql ` +
          `(- checked in, + now):\n\n${lineDiff(expected, actual)}\n\n` +
          `If the change is intended, rewrite the snapshots and commit them with it:\n  ${UPDATE_COMMAND}`,
      );
    }
  });

  it('has no snapshot file without statements', () => {
    const known = new Set(SNAPSHOTS.map((s) => `${s.name}.sql`));
    const stale = (existsSync(DIR) ? readdirSync(DIR) : []).filter((f) => f.endsWith('.sql') && !known.has(f));
    if (UPDATE) {
      stale.forEach((f) => unlinkSync(join(DIR, f)));
      return;
    }
    if (stale.length) throw new Error(`Snapshot files no statement produces: ${stale.join(', ')}. Remove them with:\n  ${UPDATE_COMMAND}`);
  });

  it('gives each prepared statement name one text (a connection prepares a name once)', () => {
    const texts = new Map<string, string>();
    for (const st of SNAPSHOTS.flatMap((s) => s.statements)) {
      if (!st.query.name) continue;
      const seen = texts.get(st.query.name);
      if (seen !== undefined) expect({ name: st.query.name, text: st.query.text }).toEqual({ name: st.query.name, text: seen });
      texts.set(st.query.name, st.query.text);
    }
    expect(texts.size).toBeGreaterThan(0);
  });

  it('shows a changed statement as a line diff', () => {
    expect(lineDiff('SELECT 1\nFROM a\nWHERE x', 'SELECT 1\nFROM b\nWHERE x')).toBe('  SELECT 1\n- FROM a\n+ FROM b\n  WHERE x');
  });
});
