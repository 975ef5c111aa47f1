import { lazy, Suspense, useMemo, useState, type ReactNode } from 'react';
import { Group, Paper, Progress, SegmentedControl, SimpleGrid, Skeleton, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { Page } from '../../components/Page';
import { QueryState } from '../../components/QueryState';
import { StatCard } from '../../components/StatCard';
import type { UsageStats } from '../../api/types';
import { formatChange, formatCredits, formatNumber } from '../../format';
import type { DaySeries } from './charts';
import { daysOf, PERIODS, usePeriod, type Period } from './period';
import { balanceQuery, transactionsQuery, usageStatsQuery } from './queries';

// ECharts is the largest part of this screen: loaded after the figures, in its own chunk
const DailyBars = lazy(() => import('./charts').then((m) => ({ default: m.DailyBars })));
const BalanceLine = lazy(() => import('./charts').then((m) => ({ default: m.BalanceLine })));

/** A chart's place while ECharts loads. */
function ChartSlot({ height, children }: { height: number; children: ReactNode }) {
  return <Suspense fallback={<Skeleton height={height} aria-label="Loading the chart" />}>{children}</Suspense>;
}

/** Most models drawn as their own series in the stacked charts; the rest are summed as "Other". */
const MAX_MODEL_SERIES = 8;
/** Longest period whose charts can be stacked by model (one usage-stats request per day). */
const MAX_STACKED_DAYS = 31;

function Trend({ change }: { change: string }) {
  const n = Number(change);
  return (
    <Text span size="xs" fw={600} c={n > 0 ? 'orange.7' : n < 0 ? 'teal.7' : 'dimmed'}>
      {formatChange(change)} vs previous period
    </Text>
  );
}

function BalanceCards() {
  const balance = useQuery(balanceQuery());
  return (
    <QueryState query={balance} loadingLabel="Loading the balance">
      {(b) => (
        <SimpleGrid cols={{ base: 1, xs: 3 }}>
          <StatCard label="Balance" value={formatCredits(b.balance)} />
          <StatCard label="Pending" value={formatCredits(b.pendingCredit)} hint="held by calls in flight" />
          <StatCard label="Active grants" value={formatCredits(b.total)} hint={`${formatNumber(b.grantCount)} grants not expired`} />
        </SimpleGrid>
      )}
    </QueryState>
  );
}

function SummaryCards({ stats }: { stats: UsageStats }) {
  const { summary, trendComparison } = stats;
  return (
    <SimpleGrid cols={{ base: 2, md: 4 }}>
      <StatCard label="Calls" value={formatNumber(summary.totalCalls)} hint={<Trend change={trendComparison.totalCalls.change} />} />
      <StatCard
        label="Credits spent"
        value={formatCredits(summary.totalCredits)}
        hint={<Trend change={trendComparison.totalCredits.change} />}
      />
      <StatCard
        label="Tokens"
        value={formatNumber(summary.totalUsage, { compact: true })}
        hint={`${formatNumber(summary.totalUsage)} in all`}
      />
      <StatCard
        label="Models"
        value={formatNumber(summary.modelCount)}
        hint={Object.entries(summary.byType)
          .map(([type, n]) => `${type} ${formatNumber(n)}`)
          .join(' · ')}
      />
    </SimpleGrid>
  );
}

/** Per-day series from the period's dailyStats (one series, all models). */
function totalSeries(days: string[], stats: UsageStats, kind: 'calls' | 'credits'): DaySeries[] {
  const byDay = new Map(stats.dailyStats.map((d) => [d.date, d]));
  return [{ name: 'All models', values: days.map((d) => byDay.get(d)?.[kind] ?? 0) }];
}

/**
 * Per-day series by model: usage-stats has no per-day breakdown by model, so each day of the
 * period is asked on its own (`[day, day+1)`, its `modelStats`), only when the user turns it on.
 */
function useStackedSeries(period: Period, days: string[], enabled: boolean, topModels: string[]) {
  const results = useQueries({
    queries: days.map((day) => {
      const start = Math.max(period.startTime, Date.parse(`${day}T00:00:00Z`) / 1000);
      const end = Math.min(period.endTime, Date.parse(`${day}T00:00:00Z`) / 1000 + 86_400);
      return { ...usageStatsQuery(start, end), enabled, staleTime: 5 * 60_000 };
    }),
  });
  const pending = enabled && results.some((r) => r.isPending);
  const series = useMemo(() => {
    if (!enabled || pending) return null;
    const keep = new Set(topModels.slice(0, MAX_MODEL_SERIES));
    const build = (kind: 'totalCalls' | 'totalCredits'): DaySeries[] => {
      const named = new Map<string, number[]>();
      results.forEach((r, i) => {
        for (const m of r.data?.modelStats ?? []) {
          const name = keep.has(m.model) ? m.model : 'Other';
          if (!named.has(name)) named.set(name, new Array<number>(days.length).fill(0));
          named.get(name)![i] += m[kind];
        }
      });
      return [...named.entries()].map(([name, values]) => ({ name, values }));
    };
    return { calls: build('totalCalls'), credits: build('totalCredits') };
  }, [enabled, pending, results, topModels, days.length]);
  return { series, pending };
}

function DailyCharts({ period, stats }: { period: Period; stats: UsageStats }) {
  const days = useMemo(() => daysOf(period), [period]);
  const [byModel, setByModel] = useState(false);
  const canStack = period.days <= MAX_STACKED_DAYS;
  const topModels = useMemo(() => stats.modelStats.map((m) => m.model), [stats]);
  const stacked = useStackedSeries(period, days, byModel && canStack, topModels);
  const calls = stacked.series?.calls ?? totalSeries(days, stats, 'calls');
  const credits = stacked.series?.credits ?? totalSeries(days, stats, 'credits');
  return (
    <Stack gap="xs">
      <Group justify="flex-end">
        <Switch
          label={canStack ? 'Stack by model' : `Stack by model (periods up to ${MAX_STACKED_DAYS} days)`}
          checked={byModel && canStack}
          disabled={!canStack}
          onChange={(e) => setByModel(e.currentTarget.checked)}
          aria-busy={stacked.pending}
        />
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Paper withBorder p="md">
          <Title order={2} size="h5" mb="xs">
            Calls per day
          </Title>
          <ChartSlot height={300}>
            <DailyBars days={days} series={calls} kind="calls" label="Calls per day" />
          </ChartSlot>
        </Paper>
        <Paper withBorder p="md">
          <Title order={2} size="h5" mb="xs">
            Credits per day
          </Title>
          <ChartSlot height={300}>
            <DailyBars days={days} series={credits} kind="credits" label="Credits per day" />
          </ChartSlot>
        </Paper>
      </SimpleGrid>
    </Stack>
  );
}

function TopModels({ stats }: { stats: UsageStats }) {
  const total = stats.summary.totalCredits || 1;
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h5" mb="xs">
        Top models
      </Title>
      <Table.ScrollContainer minWidth={480}>
        <Table striped highlightOnHover aria-label="Top models">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Model</Table.Th>
              <Table.Th ta="right">Calls</Table.Th>
              <Table.Th ta="right">Credits</Table.Th>
              <Table.Th w="30%">Share of credits</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {stats.modelStats.slice(0, 10).map((m) => (
              <Table.Tr key={m.model}>
                <Table.Td ff="monospace">{m.model}</Table.Td>
                <Table.Td ta="right">{formatNumber(m.totalCalls)}</Table.Td>
                <Table.Td ta="right">{formatCredits(m.totalCredits)}</Table.Td>
                <Table.Td>
                  <Progress value={(m.totalCredits / total) * 100} aria-label={`${m.model} share`} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Paper>
  );
}

function BalanceHistory() {
  const tx = useQuery(transactionsQuery(null, 1, 100));
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h5" mb="xs">
        Balance over time
      </Title>
      <Text size="xs" c="dimmed" mb="xs">
        After each of the last 100 ledger entries (grants, debits, refunds, expiries).
      </Text>
      <QueryState
        query={tx}
        isEmpty={(d) => d.list.length === 0}
        empty={<Text c="dimmed">No ledger entries yet: your balance moves with grants and calls.</Text>}
        loadingLabel="Loading the balance history"
      >
        {(d) => (
          <ChartSlot height={260}>
            <BalanceLine
              label="Balance over time"
              points={[...d.list].reverse().map((t) => ({ time: t.createdAt, balance: t.balanceAfter }))}
            />
          </ChartSlot>
        )}
      </QueryState>
    </Paper>
  );
}

/** My usage: balance, the period's figures and trend, calls and credits per day, top models, balance history. */
export function UsagePage() {
  const [period, value, setValue] = usePeriod(30);
  const stats = useQuery(usageStatsQuery(period.startTime, period.endTime));
  return (
    <Page
      title="My usage"
      description="Your credits and the gateway calls made with your keys."
      actions={<SegmentedControl data={[...PERIODS]} value={value} onChange={setValue} aria-label="Period" />}
    >
      <BalanceCards />
      <QueryState
        query={stats}
        loadingLabel="Loading the usage"
        isEmpty={(s) => s.summary.totalCalls === 0}
        empty={
          <Paper withBorder p="xl">
            <Text ta="center" c="dimmed">
              No calls in the last {period.days} days. Create a key in “My keys” and call the gateway with it.
            </Text>
          </Paper>
        }
      >
        {(s) => (
          <Stack gap="lg" data-testid="usage-stats">
            <SummaryCards stats={s} />
            <DailyCharts period={period} stats={s} />
            <TopModels stats={s} />
          </Stack>
        )}
      </QueryState>
      <BalanceHistory />
    </Page>
  );
}
