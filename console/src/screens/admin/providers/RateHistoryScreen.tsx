/** Rate history (`GET /ai-providers/rate-history`, admin): every change of a rate, newest first, filtered by provider and model. */
import { Badge, Group, Pagination, Select, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../../api/http';
import { formatRate, formatTime } from '../lib/format';
import { Page, QueryState, ScrollTable } from '../lib/ui';
import type { Paged, RateHistoryEntry } from '../types';
import { ProvidersNav } from './ProvidersNav';
import { useProviders } from './ProvidersScreen';

const PAGE_SIZE = 50;

function Delta({ from, to }: { from: number | null; to: number | null }) {
  if (from === to)
    return (
      <Text size="sm" ff="monospace">
        {formatRate(to)}
      </Text>
    );
  return (
    <Text size="sm" ff="monospace" style={{ whiteSpace: 'nowrap' }}>
      {formatRate(from)} → <b>{formatRate(to)}</b>
    </Text>
  );
}

export default function RateHistoryScreen() {
  const providers = useProviders();
  const [providerId, setProviderId] = useState<string | null>(null);
  const [model, setModel] = useState('');
  const [debouncedModel] = useDebouncedValue(model.trim(), 300);
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ['admin', 'rates', 'history', providerId, debouncedModel, page],
    queryFn: () =>
      apiFetch<Paged<RateHistoryEntry>>('/ai-providers/rate-history', {
        query: { providerId, model: debouncedModel, page, pageSize: PAGE_SIZE },
      }),
    placeholderData: keepPreviousData,
  });
  return (
    <Page title="Rate history" description="Every change of a model's rates or unit costs, with who made it and why.">
      <ProvidersNav />
      <Group align="flex-end" wrap="wrap">
        <Select
          label="Provider"
          placeholder="Any"
          data={(providers.data ?? []).map((p) => ({ value: p.id, label: p.displayName }))}
          value={providerId}
          onChange={(v) => {
            setProviderId(v);
            setPage(1);
          }}
          clearable
        />
        <TextInput
          label="Model (exact name)"
          value={model}
          onChange={(e) => {
            setModel(e.currentTarget.value);
            setPage(1);
          }}
        />
      </Group>
      <QueryState query={query} isEmpty={(d) => d.count === 0} empty={<Text c="dimmed">No rate changes.</Text>}>
        {(data) => (
          <>
            <ScrollTable minWidth={1100} label="Rate history">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Provider</Table.Th>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Input (credits/token)</Table.Th>
                  <Table.Th>Output (credits/token)</Table.Th>
                  <Table.Th>By</Table.Th>
                  <Table.Th>Reason</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.list.map((h) => (
                  <Table.Tr key={h.id}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(h.createdAt)}</Table.Td>
                    <Table.Td>{h.providerName}</Table.Td>
                    <Table.Td>{h.model}</Table.Td>
                    <Table.Td>
                      <Tooltip label={h.parameters ? JSON.stringify(h.parameters) : h.action} disabled={!h.parameters}>
                        <Badge
                          miw="max-content"
                          variant="light"
                          tt="none"
                          color={h.action === 'delete' ? 'red' : h.action === 'bulk-rate-update' ? 'orange' : 'blue'}
                        >
                          {h.action}
                        </Badge>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>
                      <Delta from={h.oldInputRate} to={h.newInputRate} />
                    </Table.Td>
                    <Table.Td>
                      <Delta from={h.oldOutputRate} to={h.newOutputRate} />
                    </Table.Td>
                    <Table.Td>{h.changedBy?.email ?? '–'}</Table.Td>
                    <Table.Td>{h.reason ?? ''}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="space-between">
              <Text size="sm" c="dimmed">
                {data.count} changes
              </Text>
              <Pagination total={Math.max(1, Math.ceil(data.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
            </Group>
          </>
        )}
      </QueryState>
    </Page>
  );
}
