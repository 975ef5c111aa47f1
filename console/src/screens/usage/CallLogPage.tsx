import { useEffect, useMemo, useState } from 'react';
import {
  Autocomplete,
  Badge,
  Button,
  Code,
  Drawer,
  Group,
  Pagination,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { apiUrl } from '../../api/http';
import type { CallStatus, ModelCall, ModelCallFilters } from '../../api/types';
import { Page } from '../../components/Page';
import { QueryState } from '../../components/QueryState';
import { formatCredits, formatDateTime, formatDuration, formatNumber } from '../../format';
import { periodOf } from './period';
import { modelCallsQuery, usageStatsQuery } from './queries';

const PAGE_SIZE = 50;

const RANGES = [
  { value: '1', label: 'Last 24 hours' },
  { value: '7', label: 'Last 7 days' },
  { value: '30', label: 'Last 30 days' },
  { value: '90', label: 'Last 90 days' },
  { value: 'all', label: 'All time' },
];

const STATUSES = [
  { value: 'all', label: 'Any status' },
  { value: 'success', label: 'Success' },
  { value: 'failed', label: 'Failed (any)' },
  { value: 'aborted', label: 'Aborted' },
];

const STATUS_COLORS: Record<CallStatus, string> = { success: 'teal', failed: 'red', aborted: 'yellow', interrupted: 'orange' };

export function StatusBadge({ status }: { status: CallStatus }) {
  return (
    <Badge color={STATUS_COLORS[status]} variant="light" size="sm">
      {status}
    </Badge>
  );
}

/** The filters as URL search parameters (so a filtered log can be linked and survives a reload). */
function useFilters() {
  const [params, setParams] = useSearchParams();
  const range = params.get('range') ?? '7';
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1);
  const set = (name: string, value: string | null) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value === null || value === '') next.delete(name);
        else next.set(name, value);
        if (name !== 'page') next.delete('page');
        return next;
      },
      { replace: true },
    );
  return {
    range,
    page,
    search: params.get('search') ?? '',
    status: params.get('status') ?? 'all',
    model: params.get('model') ?? '',
    providerId: params.get('providerId') ?? '',
    appDid: params.get('appDid') ?? '',
    set,
  };
}

function CallDetails({ call, onClose }: { call: ModelCall | null; onClose: () => void }) {
  const rows: Array<[string, React.ReactNode]> = call
    ? [
        ['Time', formatDateTime(call.createdAt)],
        ['Status', <StatusBadge key="s" status={call.status} />],
        ['Model', <Code key="m">{call.model}</Code>],
        ['Type', call.type],
        ['Provider', call.providerName ?? '—'],
        ['Streamed', call.stream ? 'yes' : 'no'],
        ['Input tokens', formatNumber(call.inputTokens)],
        ['Output tokens', formatNumber(call.outputTokens)],
        ['Total tokens', `${formatNumber(call.totalUsage)} (${call.usageSource})`],
        ['Credits', formatCredits(call.credits)],
        ['Duration', formatDuration(call.duration)],
        ['App DID', call.appDid ?? '—'],
        ['Upstream status', call.upstreamStatus ?? '—'],
        ['Error', call.errorCode ? `${call.errorCode}: ${call.errorMessage ?? ''}` : '—'],
        ['Request id', <Code key="r">{call.requestId}</Code>],
        ['Call id', <Code key="c">{call.id}</Code>],
      ]
    : [];
  return (
    <Drawer opened={call !== null} onClose={onClose} title="Call" position="right" size="md">
      <Table>
        <Table.Tbody>
          {rows.map(([label, value]) => (
            <Table.Tr key={label}>
              <Table.Th w={140}>{label}</Table.Th>
              <Table.Td style={{ wordBreak: 'break-all' }}>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Drawer>
  );
}

function CallTable({ calls, onOpen }: { calls: ModelCall[]; onOpen: (c: ModelCall) => void }) {
  return (
    <Table.ScrollContainer minWidth={900}>
      <Table striped highlightOnHover aria-label="Calls">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Time</Table.Th>
            <Table.Th>Model</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th ta="right">Tokens in / out</Table.Th>
            <Table.Th ta="right">Credits</Table.Th>
            <Table.Th ta="right">Duration</Table.Th>
            <Table.Th>Provider</Table.Th>
            <Table.Th>Request id</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {calls.map((c) => (
            <Table.Tr
              key={c.id}
              onClick={() => onOpen(c)}
              onKeyDown={(e) => e.key === 'Enter' && onOpen(c)}
              tabIndex={0}
              style={{ cursor: 'pointer' }}
              data-testid="call-row"
            >
              <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(c.createdAt)}</Table.Td>
              <Table.Td ff="monospace">{c.model}</Table.Td>
              <Table.Td>
                <StatusBadge status={c.status} />
              </Table.Td>
              <Table.Td ta="right">
                {formatNumber(c.inputTokens)} / {formatNumber(c.outputTokens)}
              </Table.Td>
              <Table.Td ta="right">{formatCredits(c.credits)}</Table.Td>
              <Table.Td ta="right">{formatDuration(c.duration)}</Table.Td>
              <Table.Td>{c.providerName ?? '—'}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace" truncate maw={160}>
                  {c.requestId}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** The call log (GET /user/model-calls): every filter of the API, pagination, details, CSV export of the filtered log. */
export function CallLogPage() {
  const f = useFilters();
  const [searchText, setSearchText] = useState(f.search);
  const [debouncedSearch] = useDebouncedValue(searchText, 350);
  const { set, search } = f;
  useEffect(() => {
    if (debouncedSearch !== search) set('search', debouncedSearch);
    // only a new debounced text moves the filter (not a change of the URL)
  }, [debouncedSearch]);
  const [open, setOpen] = useState<ModelCall | null>(null);

  const filters = useMemo<ModelCallFilters>(() => {
    const p = f.range === 'all' ? null : periodOf(Number(f.range));
    return {
      startTime: p?.startTime,
      endTime: p?.endTime,
      search: f.search || undefined,
      status: f.status as ModelCallFilters['status'],
      model: f.model || undefined,
      providerId: f.providerId || undefined,
      appDid: f.appDid || undefined,
    };
  }, [f.range, f.search, f.status, f.model, f.providerId, f.appDid]);

  const calls = useQuery(modelCallsQuery(filters, f.page, PAGE_SIZE));
  const p90 = useMemo(() => periodOf(90), []);
  const models = useQuery({ ...usageStatsQuery(p90.startTime, p90.endTime), select: (s) => s.modelStats.map((m) => m.model) });
  const exportHref = apiUrl('/user/model-calls/export', { ...filters, status: filters.status === 'all' ? undefined : filters.status });

  return (
    <Page
      title="Call log"
      description="Every gateway call made with your keys, newest first."
      actions={
        <Button component="a" href={exportHref} download="model-calls.csv" variant="light">
          Export CSV
        </Button>
      }
    >
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          <Select label="Time" data={RANGES} value={f.range} onChange={(v) => f.set('range', v)} allowDeselect={false} />
          <Select
            label="Status"
            data={STATUSES}
            value={f.status}
            onChange={(v) => f.set('status', v === 'all' ? null : v)}
            allowDeselect={false}
          />
          <TextInput
            label="Search"
            placeholder="request id, call id, model or app DID"
            value={searchText}
            maxLength={200}
            onChange={(e) => setSearchText(e.currentTarget.value)}
          />
          <Autocomplete
            label="Model"
            placeholder="exact model name"
            data={models.data ?? []}
            value={f.model}
            onChange={(v) => f.set('model', v)}
          />
          <TextInput
            label="Provider id"
            placeholder="UUID"
            value={f.providerId}
            onChange={(e) => f.set('providerId', e.currentTarget.value.trim())}
          />
          <TextInput
            label="App DID"
            placeholder="exact app DID"
            value={f.appDid}
            onChange={(e) => f.set('appDid', e.currentTarget.value.trim())}
          />
        </SimpleGrid>
      </Paper>
      <QueryState
        query={calls}
        loadingLabel="Loading calls"
        isEmpty={(d) => d.count === 0}
        empty={<Text c="dimmed">No calls match these filters.</Text>}
      >
        {(d) => (
          <Stack gap="sm">
            <Text size="sm" c="dimmed" data-testid="call-count">
              {d.totalIsEstimate ? `about ${formatNumber(d.count)} calls` : `${formatNumber(d.count)} calls`}
            </Text>
            <CallTable calls={d.list} onOpen={setOpen} />
            <Group justify="center">
              <Pagination
                total={Math.max(1, Math.ceil(d.count / PAGE_SIZE))}
                value={f.page}
                onChange={(page) => f.set('page', String(page))}
              />
            </Group>
          </Stack>
        )}
      </QueryState>
      <CallDetails call={open} onClose={() => setOpen(null)} />
    </Page>
  );
}
