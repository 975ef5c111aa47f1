/**
 * Model rates of every provider (`GET /ai-providers/model-rates`), the bulk rate update with a
 * preview of old → new rates before applying (`POST /ai-providers/bulk-rate-update`), and the
 * model health test (`GET /ai-providers/test-models`) with its progress.
 *
 * The api has no preview or dry run for the bulk update, so the preview is computed here with the
 * formula docs/api/providers.md documents, in exact decimal arithmetic (lib/decimal.ts), from the
 * unit costs `GET /ai-providers` answers. After applying, the api's own summary is shown.
 */
import { Alert, Badge, Button, Group, Modal, MultiSelect, Pagination, Paper, Progress, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { parseDecimal, rateFromUnitCost } from '../lib/decimal';
import { formatNumber, formatRate, formatTime } from '../lib/format';
import { ErrorAlert, notifySuccess, Page, QueryState, ScrollTable } from '../lib/ui';
import type { BulkRateUpdateResult, ModelRateWithProvider, Paged, Provider, PublicModel, TestModelsResult } from '../types';
import { PROVIDERS_KEY, useProviders } from './ProvidersScreen';
import { ProvidersNav } from './ProvidersNav';

const PAGE_SIZE = 50;

const LITELLM_TYPE: Record<string, string> = { chatCompletion: 'chat', embedding: 'embedding', imageGeneration: 'image_generation' };

export default function RatesScreen() {
  const { canWrite } = useAdminAccess();
  return (
    <Page title="Model rates" description="Rates are credits per token; unit costs are what the provider charges, in USD per token.">
      <ProvidersNav />
      {canWrite && <BulkRateUpdate />}
      {canWrite && <TestModels />}
      <AllRates />
    </Page>
  );
}

function AllRates() {
  const providers = useProviders();
  const [providerIds, setProviderIds] = useState<string[]>([]);
  const [model, setModel] = useState('');
  const [debouncedModel] = useDebouncedValue(model.trim(), 300);
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ['admin', 'rates', 'all', providerIds, debouncedModel, page],
    queryFn: () =>
      apiFetch<Paged<ModelRateWithProvider>>('/ai-providers/model-rates', {
        query: { providerId: providerIds.join(','), model: debouncedModel, page, pageSize: PAGE_SIZE },
      }),
    placeholderData: keepPreviousData,
  });
  return (
    <Stack gap="xs">
      <Text fw={700}>All rates</Text>
      <Group align="flex-end" wrap="wrap">
        <MultiSelect
          label="Providers"
          placeholder="Any"
          data={(providers.data ?? []).map((p) => ({ value: p.id, label: p.displayName }))}
          value={providerIds}
          onChange={(v) => {
            setProviderIds(v);
            setPage(1);
          }}
          clearable
          w={{ base: '100%', sm: 320 }}
        />
        <TextInput
          label="Model"
          placeholder="Part of the name"
          value={model}
          onChange={(e) => {
            setModel(e.currentTarget.value);
            setPage(1);
          }}
        />
      </Group>
      <QueryState query={query} isEmpty={(d) => d.count === 0} empty={<Text c="dimmed">No model rates.</Text>}>
        {(data) => (
          <>
            <ScrollTable minWidth={900} label="All model rates">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Provider</Table.Th>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Input (credits/token)</Table.Th>
                  <Table.Th>Output (credits/token)</Table.Th>
                  <Table.Th>Unit costs (USD/token)</Table.Th>
                  <Table.Th>Changed</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.list.map((r) => (
                  <Table.Tr key={r.id} data-testid="rate-row">
                    <Table.Td>{r.provider.displayName}</Table.Td>
                    <Table.Td>{r.model}</Table.Td>
                    <Table.Td>{r.type}</Table.Td>
                    <Table.Td ff="monospace" data-testid="rate-input">
                      {formatRate(r.inputRate)}
                    </Table.Td>
                    <Table.Td ff="monospace" data-testid="rate-output">
                      {formatRate(r.outputRate)}
                    </Table.Td>
                    <Table.Td ff="monospace">
                      {r.unitCosts ? (
                        `${formatRate(r.unitCosts.input)} / ${formatRate(r.unitCosts.output)}`
                      ) : (
                        <Text c="dimmed">unknown</Text>
                      )}
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(r.updatedAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="space-between">
              <Text size="sm" c="dimmed">
                {data.count} rates
              </Text>
              <Pagination total={Math.max(1, Math.ceil(data.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
            </Group>
          </>
        )}
      </QueryState>
    </Stack>
  );
}

interface PreviewRow {
  id: string;
  provider: string;
  model: string;
  type: string;
  oldInput: number;
  oldOutput: number;
  newInput: string | null;
  newOutput: string | null;
  /** why the rate is skipped or refused */
  note: string | null;
}

/** The preview: every rate of every provider, with the new rates for those with both unit costs. */
function computePreview(providers: Provider[], margin: string, price: string): PreviewRow[] {
  const m = parseDecimal(margin);
  const p = parseDecimal(price);
  if (!m || !p) return [];
  const rows: PreviewRow[] = [];
  for (const prov of providers)
    for (const r of prov.modelRates) {
      const row: PreviewRow = {
        id: r.id,
        provider: prov.displayName,
        model: r.model,
        type: r.type,
        oldInput: r.inputRate,
        oldOutput: r.outputRate,
        newInput: null,
        newOutput: null,
        note: null,
      };
      const ci = r.unitCosts?.input;
      const co = r.unitCosts?.output;
      if (ci === null || ci === undefined || co === null || co === undefined) row.note = 'skipped: unit costs unknown';
      else {
        const a = rateFromUnitCost(parseDecimal(ci)!, m, p);
        const b = rateFromUnitCost(parseDecimal(co)!, m, p);
        if (a.ok) row.newInput = a.value;
        if (b.ok) row.newOutput = b.value;
        if (!a.ok || !b.ok) row.note = 'does not fit: the update would be refused (rate_out_of_range)';
      }
      rows.push(row);
    }
  return rows.sort((x, y) => (x.note ? 1 : 0) - (y.note ? 1 : 0) || x.provider.localeCompare(y.provider) || x.model.localeCompare(y.model));
}

function inputProblem(margin: string, price: string): string | null {
  const m = parseDecimal(margin);
  const p = parseDecimal(price);
  if (!m) return 'The profit margin must be a number (percent).';
  if (!p) return 'The credit price must be a number (USD per credit).';
  const mv = Number(margin);
  if (!(mv > -100 && mv <= 1_000_000)) return 'The profit margin must be above -100 and at most 1,000,000 (percent).';
  if (!(Number(price) > 0)) return 'The credit price must be above 0.';
  return null;
}

function Change({ from, to }: { from: number; to: string | null }) {
  if (to === null) return <Text c="dimmed">{formatRate(from)}</Text>;
  const same = Number(to) === from;
  return (
    <Text ff="monospace" size="sm" style={{ whiteSpace: 'nowrap' }}>
      {formatRate(from)} → <b style={{ color: same ? undefined : 'var(--mantine-color-blue-7)' }}>{formatRate(to)}</b>
    </Text>
  );
}

function BulkRateUpdate() {
  const qc = useQueryClient();
  const providers = useProviders();
  const [margin, setMargin] = useState('20');
  const [price, setPrice] = useState('');
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<{ margin: string; price: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const problem = inputProblem(margin, price);
  const rows = useMemo(
    () => (preview && providers.data ? computePreview(providers.data, preview.margin, preview.price) : []),
    [preview, providers.data],
  );
  const updatable = rows.filter((r) => r.newInput !== null && r.note === null);
  const changing = updatable.filter((r) => Number(r.newInput) !== r.oldInput || Number(r.newOutput) !== r.oldOutput);
  const refused = rows.some((r) => r.note?.startsWith('does not fit'));

  const apply = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<BulkRateUpdateResult>('/ai-providers/bulk-rate-update', {
        method: 'POST',
        body: { profitMargin: preview!.margin, creditPrice: preview!.price, reason: reason || undefined },
      }),
    onSuccess: (r) => {
      notifySuccess(`${r.updated} rates updated, ${r.skipped} skipped`);
      setConfirming(false);
      setPreview(null);
      void qc.invalidateQueries({ queryKey: ['admin', 'rates'] });
      void qc.invalidateQueries({ queryKey: PROVIDERS_KEY });
    },
  });

  return (
    <Paper withBorder p="md" data-testid="bulk-rate-update">
      <Stack>
        <div>
          <Text fw={700}>Bulk rate update</Text>
          <Text size="sm" c="dimmed">
            Every rate with both unit costs becomes unit cost × (1 + margin / 100) / credit price, rounded half up to 18 places. Rates
            without unit costs are skipped. The preview is computed here with the same formula; the api applies it in one transaction.
          </Text>
        </div>
        <Group align="flex-end" wrap="wrap">
          <TextInput
            label="Profit margin (%)"
            inputMode="decimal"
            value={margin}
            onChange={(e) => {
              setMargin(e.currentTarget.value);
              setPreview(null);
            }}
            w={160}
          />
          <TextInput
            label="Credit price (USD per credit)"
            inputMode="decimal"
            placeholder="e.g. 0.001"
            value={price}
            onChange={(e) => {
              setPrice(e.currentTarget.value);
              setPreview(null);
            }}
            w={220}
          />
          <TextInput
            label="Reason (optional)"
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            w={{ base: '100%', sm: 280 }}
          />
          <Button
            onClick={() => {
              apply.reset();
              setPreview({ margin: margin.trim(), price: price.trim() });
              void providers.refetch();
            }}
            disabled={problem !== null}
          >
            Preview
          </Button>
        </Group>
        {price.trim() !== '' && problem && (
          <Text c="red" size="sm">
            {problem}
          </Text>
        )}
        {apply.isSuccess && apply.data && <AppliedSummary result={apply.data} />}
        {preview && providers.isError && <ErrorAlert error={providers.error} />}
        {preview && providers.data && (
          <Stack gap="xs" data-testid="rate-preview">
            <Group justify="space-between" wrap="wrap">
              <Text size="sm">
                Preview at {preview.margin}% margin and {preview.price} USD per credit: <b>{updatable.length}</b> rates recomputed (
                <b data-testid="preview-changing">{changing.length}</b> change), {rows.length - updatable.length} skipped.
              </Text>
              <Button color="orange" onClick={() => setConfirming(true)} disabled={updatable.length === 0 || refused}>
                Apply to {updatable.length} rates
              </Button>
            </Group>
            {refused && (
              <Alert color="red">
                At least one new rate does not fit (more than 20 integer digits): the api would refuse the whole update.
              </Alert>
            )}
            <ScrollTable minWidth={900} label="Rate preview">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Provider</Table.Th>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Input (credits/token)</Table.Th>
                  <Table.Th>Output (credits/token)</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.id} data-testid="preview-rate-row">
                    <Table.Td>{r.provider}</Table.Td>
                    <Table.Td>{r.model}</Table.Td>
                    <Table.Td>{r.type}</Table.Td>
                    <Table.Td>
                      <Change from={r.oldInput} to={r.newInput} />
                    </Table.Td>
                    <Table.Td>
                      <Change from={r.oldOutput} to={r.newOutput} />
                    </Table.Td>
                    <Table.Td>
                      {r.note && (
                        <Badge miw="max-content" color={r.note.startsWith('skipped') ? 'gray' : 'red'} variant="light" tt="none">
                          {r.note}
                        </Badge>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
          </Stack>
        )}
      </Stack>
      <Modal opened={confirming} onClose={() => setConfirming(false)} title="Apply the bulk rate update" centered>
        <Stack>
          <Text>
            Change {updatable.length} rates at {preview?.margin}% margin and {preview?.price} USD per credit? Calls are billed at the new
            rates at once.
          </Text>
          {apply.isError && <ErrorAlert error={apply.error} title="Nothing changed" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button color="orange" loading={apply.isPending} onClick={() => apply.mutate()}>
              Apply
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}

function AppliedSummary({ result }: { result: BulkRateUpdateResult }) {
  return (
    <Alert color="green" title={`${result.updated} rates updated, ${result.skipped} skipped`} data-testid="bulk-applied">
      <ScrollTable minWidth={700} label="Applied rates">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Provider</Table.Th>
            <Table.Th>Model</Table.Th>
            <Table.Th>Input</Table.Th>
            <Table.Th>Output</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {result.summary.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{s.provider}</Table.Td>
              <Table.Td>{s.model}</Table.Td>
              <Table.Td>
                <Change from={s.oldInputRate} to={String(s.newInputRate)} />
              </Table.Td>
              <Table.Td>
                <Change from={s.oldOutputRate} to={String(s.newOutputRate)} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </ScrollTable>
    </Alert>
  );
}

/**
 * Test every enabled model: the api enqueues one health-check job per model and answers at once;
 * there is no job endpoint, so progress is read by polling GET /ai-providers/models until each
 * model's `status.lastChecked` is newer than the start (or 3 minutes passed).
 */
function TestModels() {
  const [run, setRun] = useState<{ startedAt: number; result: TestModelsResult } | null>(null);
  const start = useMutation({
    meta: { silent: true },
    mutationFn: () => apiFetch<TestModelsResult>('/ai-providers/test-models'),
    onSuccess: (result) => setRun({ startedAt: Date.now() - 2000, result }),
  });
  // a job names its model as provider/model and the rate's type; /models uses LiteLLM's type names
  const wanted = useMemo(() => new Set(run?.result.jobs.map((j) => `${j.key}|${LITELLM_TYPE[j.type] ?? j.type}`) ?? []), [run]);
  const isChecked = (m: PublicModel, since: number) =>
    wanted.has(`${m.key}|${m.type}`) && m.status !== null && Date.parse(m.status.lastChecked) >= since;
  const models = useQuery({
    queryKey: ['admin', 'models-status', run?.startedAt],
    queryFn: () => apiFetch<PublicModel[]>('/ai-providers/models'),
    enabled: run !== null,
    refetchInterval: (q) => {
      if (!run) return false;
      const done = (q.state.data ?? []).filter((m) => isChecked(m, run.startedAt)).length;
      return done >= wanted.size || Date.now() - run.startedAt > 180_000 ? false : 2000;
    },
  });
  const checked = run ? (models.data ?? []).filter((m) => isChecked(m, run.startedAt)) : [];
  const total = wanted.size;
  const down = checked.filter((m) => m.status?.status === 'down');
  return (
    <Paper withBorder p="md">
      <Stack gap="xs">
        <Group justify="space-between" wrap="wrap">
          <div>
            <Text fw={700}>Test models</Text>
            <Text size="sm" c="dimmed">
              Sends every enabled model a minimal request from the worker and records its status and latency.
            </Text>
          </div>
          <Button variant="light" onClick={() => start.mutate()} loading={start.isPending}>
            Test all models
          </Button>
        </Group>
        {start.isError && <ErrorAlert error={start.error} title="Not started" />}
        {run && (
          <Stack gap={4} data-testid="test-models-progress">
            <Text size="sm">
              {run.result.enqueued} checks queued, {run.result.alreadyQueued} already queued. Checked {checked.length} of {total}
              {down.length > 0 ? `, ${down.length} down` : ''}.
            </Text>
            <Progress
              value={total === 0 ? 100 : (checked.length / total) * 100}
              animated={checked.length < total}
              aria-label="Test progress"
            />
            {down.length > 0 && (
              <Text size="sm" c="red" data-testid="test-models-down">
                Down: {down.map((m) => m.key).join(', ')}
              </Text>
            )}
            {checked.length > 0 && (
              <Text size="xs" c="dimmed">
                Latency:{' '}
                {checked.map((m) => `${m.key} ${m.status?.latency === null ? '–' : `${formatNumber(m.status?.latency)} ms`}`).join(' · ')}
              </Text>
            )}
          </Stack>
        )}
      </Stack>
    </Paper>
  );
}
