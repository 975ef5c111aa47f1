/**
 * Credits and usage (admins): grant credits to a user (`POST /admin/credits/grants`, idempotent
 * with one Idempotency-Key per form submission, docs/api/credits.md), and every user's usage
 * statistics (`GET /user/admin/user-stats`, docs/api/model-calls.md) as figures, a chart and tables.
 */
import { Alert, Button, Group, Paper, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import { lazy, Suspense, useMemo, useState } from 'react';
import { ApiError, apiFetch, apiRaw } from '../../../api/http';
import { formatChange } from '../../../format';
import { useAdminAccess } from '../lib/access';
import { formatNumber, formatTime, useCredits } from '../lib/format';
import { ErrorAlert, Page, QueryState, ScrollTable, StatCard } from '../lib/ui';
import type { AdminUser, CreditGrant, Paged, UsageStats } from '../types';

dayjs.extend(utc);
const UsageChart = lazy(() => import('./UsageChart'));

export default function CreditsScreen() {
  const { canWrite } = useAdminAccess();
  return (
    <Page title="Credits & usage" description="Grant credits to a user; usage of every user.">
      {canWrite && <GrantForm />}
      <UsageStatsView />
    </Page>
  );
}

function newKey(): string {
  return crypto.randomUUID();
}

function GrantForm() {
  const credits = useCredits();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [user, setUser] = useState<{ did: string; email: string } | null>(null);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  // one key per submission: kept while the same form is retried (a lost answer, a double click),
  // replaced when a field changes or after a grant, so the api never grants the same submission twice
  const [idempotencyKey, setIdempotencyKey] = useState(newKey);
  const [done, setDone] = useState<{ grant: CreditGrant; replay: boolean; email: string } | null>(null);

  const users = useQuery({
    queryKey: ['admin', 'users', 'pick', debounced],
    queryFn: () => apiFetch<Paged<AdminUser>>('/admin/users', { query: { search: debounced, pageSize: 20 } }),
    enabled: debounced.length > 0,
  });
  const options = [
    ...(user ? [{ value: user.did, label: user.email }] : []),
    ...(users.data?.list ?? []).filter((u) => u.did !== user?.did).map((u) => ({ value: u.did, label: u.email })),
  ];

  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setIdempotencyKey(newKey());
    };

  const grant = useMutation({
    meta: { silent: true },
    mutationFn: async () => {
      const res = await apiRaw('/admin/credits/grants', {
        method: 'POST',
        headers: { 'idempotency-key': idempotencyKey },
        body: {
          userDid: user!.did,
          amount: amount.trim(),
          reason: reason.trim(),
          expiresAt: expiresAt ? new Date(expiresAt).toISOString() : undefined,
        },
      });
      return { grant: (await res.json()) as CreditGrant, replay: res.status === 200 };
    },
    onSuccess: (r) => {
      setDone({ ...r, email: user!.email });
      setAmount('');
      setReason('');
      setExpiresAt('');
      setIdempotencyKey(newKey());
    },
  });

  return (
    <Paper withBorder p="md">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setDone(null);
          grant.mutate();
        }}
      >
        <Stack>
          <Text fw={700}>Grant credits</Text>
          {grant.isError && (
            <ErrorAlert
              error={grant.error}
              title={
                grant.error instanceof ApiError && grant.error.code === 'idempotency_key_reused'
                  ? 'This submission was already used differently'
                  : 'Not granted'
              }
            />
          )}
          {done && (
            <Alert color={done.replay ? 'yellow' : 'green'} title={done.replay ? 'Already granted' : 'Granted'} data-testid="grant-done">
              {done.replay
                ? `This submission had already granted ${credits(done.grant.amount)} to ${done.email}; nothing was granted again.`
                : `${credits(done.grant.amount)} granted to ${done.email}. Balance now ${credits(done.grant.balanceAfter)}.`}
            </Alert>
          )}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Select
              label="User"
              placeholder="Search by email or name"
              required
              searchable
              data={options}
              value={user?.did ?? null}
              searchValue={search}
              onSearchChange={setSearch}
              filter={({ options: o }) => o}
              onChange={(did, option) => {
                setUser(did && option ? { did, email: option.label } : null);
                setIdempotencyKey(newKey());
              }}
              nothingFoundMessage={debounced ? 'No user found' : 'Type to search'}
            />
            <TextInput
              label="Amount (credits)"
              required
              inputMode="decimal"
              pattern="^\d{1,18}(\.\d{1,10})?$"
              title="A positive amount with at most 10 decimals"
              value={amount}
              onChange={(e) => edit(setAmount)(e.currentTarget.value)}
            />
            <TextInput label="Reason" required maxLength={500} value={reason} onChange={(e) => edit(setReason)(e.currentTarget.value)} />
            <TextInput
              label="Expires at (optional)"
              description="The unconsumed remainder expires then"
              type="datetime-local"
              value={expiresAt}
              onChange={(e) => edit(setExpiresAt)(e.currentTarget.value)}
            />
          </SimpleGrid>
          <Group>
            <Button type="submit" loading={grant.isPending} disabled={!user || !amount.trim() || !reason.trim()}>
              Grant
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

const RANGES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
];

function UsageStatsView() {
  const credits = useCredits();
  const [days, setDays] = useState('30');
  // whole UTC days, ending with today (exclusive end = tomorrow 00:00 UTC)
  const range = useMemo(() => {
    const end = dayjs().utc().startOf('day').add(1, 'day');
    return { startTime: end.subtract(Number(days), 'day').unix(), endTime: end.unix() };
  }, [days]);
  const query = useQuery({
    queryKey: ['admin', 'user-stats', range],
    queryFn: () => apiFetch<UsageStats>('/user/admin/user-stats', { query: range }),
  });
  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Text fw={700}>Usage of every user</Text>
        <SegmentedControl data={RANGES} value={days} onChange={setDays} aria-label="Range" />
      </Group>
      <QueryState query={query}>
        {(s) => (
          <Stack>
            <SimpleGrid cols={{ base: 2, md: 4 }}>
              <StatCard
                label="Credits"
                value={credits(s.summary.totalCredits)}
                hint={`${formatChange(s.trendComparison.totalCredits.change)} vs previous`}
              />
              <StatCard
                label="Calls"
                value={formatNumber(s.summary.totalCalls)}
                hint={`${formatChange(s.trendComparison.totalCalls.change)} vs previous`}
              />
              <StatCard label="Models" value={formatNumber(s.summary.modelCount)} />
              <StatCard label="Tokens" value={formatNumber(s.summary.totalUsage)} />
            </SimpleGrid>
            {s.dailyStats.length === 0 ? (
              <Text c="dimmed" data-testid="empty-state">
                No calls in this range.
              </Text>
            ) : (
              <Suspense fallback={<div style={{ height: 300 }} />}>
                <UsageChart daily={s.dailyStats} startTime={range.startTime} endTime={range.endTime} />
              </Suspense>
            )}
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <Stack gap="xs">
                <Text fw={600}>By model</Text>
                <ScrollTable minWidth={360} label="Usage by model">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Model</Table.Th>
                      <Table.Th ta="right">Calls</Table.Th>
                      <Table.Th ta="right">Credits</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {s.modelStats.map((m) => (
                      <Table.Tr key={m.model}>
                        <Table.Td>{m.model}</Table.Td>
                        <Table.Td ta="right">{formatNumber(m.totalCalls)}</Table.Td>
                        <Table.Td ta="right">{credits(m.totalCredits)}</Table.Td>
                      </Table.Tr>
                    ))}
                    {s.modelStats.length === 0 && (
                      <Table.Tr>
                        <Table.Td colSpan={3}>
                          <Text c="dimmed" size="sm">
                            No calls.
                          </Text>
                        </Table.Td>
                      </Table.Tr>
                    )}
                  </Table.Tbody>
                </ScrollTable>
              </Stack>
              <Stack gap="xs">
                <Text fw={600}>By day (UTC)</Text>
                <ScrollTable minWidth={360} label="Usage by day">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Day</Table.Th>
                      <Table.Th ta="right">Calls</Table.Th>
                      <Table.Th ta="right">Credits</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {[...s.dailyStats].reverse().map((d) => (
                      <Table.Tr key={d.date}>
                        <Table.Td>{d.date}</Table.Td>
                        <Table.Td ta="right">{formatNumber(d.calls)}</Table.Td>
                        <Table.Td ta="right">{credits(d.credits)}</Table.Td>
                      </Table.Tr>
                    ))}
                    {s.dailyStats.length === 0 && (
                      <Table.Tr>
                        <Table.Td colSpan={3}>
                          <Text c="dimmed" size="sm">
                            No calls.
                          </Text>
                        </Table.Td>
                      </Table.Tr>
                    )}
                  </Table.Tbody>
                </ScrollTable>
              </Stack>
            </SimpleGrid>
            <Text size="xs" c="dimmed">
              Range {formatTime(dayjs.unix(range.startTime).toISOString())} to {formatTime(dayjs.unix(range.endTime).toISOString())}.
            </Text>
          </Stack>
        )}
      </QueryState>
    </Stack>
  );
}
