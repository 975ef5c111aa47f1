/**
 * Health (public endpoints, refreshed every 10 s): credentials running or stopped per provider
 * (`GET /ai-providers/health`) and each model's last check (`GET /ai-providers/models`).
 */
import { Badge, Card, Group, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { apiFetch } from '../../../api/http';
import { formatNumber, formatTime } from '../lib/format';
import { Page, QueryState, ScrollTable } from '../lib/ui';
import type { ProvidersHealth, PublicModel } from '../types';
import { ProvidersNav } from './ProvidersNav';

export default function HealthScreen() {
  const health = useQuery({
    queryKey: ['admin', 'providers-health'],
    queryFn: () => apiFetch<ProvidersHealth>('/ai-providers/health'),
    refetchInterval: 10_000,
  });
  const models = useQuery({
    queryKey: ['admin', 'models-status', 'health'],
    queryFn: () => apiFetch<PublicModel[]>('/ai-providers/models'),
    refetchInterval: 10_000,
  });
  return (
    <Page title="Provider health" description="Enabled providers, from stored state; refreshed every 10 seconds.">
      <ProvidersNav />
      <QueryState
        query={health}
        isEmpty={(d) => Object.keys(d.providers).length === 0}
        empty={<Text c="dimmed">No enabled providers.</Text>}
      >
        {(h) => (
          <Stack gap="xs">
            <Text size="xs" c="dimmed">
              As of {formatTime(h.timestamp)}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
              {Object.entries(h.providers).map(([provider, creds]) => {
                const entries = Object.entries(creds);
                const running = entries.filter(([, c]) => c.running).length;
                return (
                  <Card key={provider} withBorder data-testid="health-card">
                    <Group justify="space-between" mb="xs">
                      <Text fw={700}>{provider}</Text>
                      <Badge
                        miw="max-content"
                        color={entries.length === 0 ? 'gray' : running === 0 ? 'red' : running < entries.length ? 'orange' : 'green'}
                        variant="light"
                        tt="none"
                      >
                        {entries.length === 0 ? 'no credentials' : `${running}/${entries.length} running`}
                      </Badge>
                    </Group>
                    <Stack gap={4}>
                      {entries.map(([name, c]) => (
                        <Group key={name} justify="space-between">
                          <Text size="sm">{name}</Text>
                          <Badge miw="max-content" color={c.running ? 'green' : 'red'} variant="dot" tt="none">
                            {c.running ? 'running' : 'stopped'}
                          </Badge>
                        </Group>
                      ))}
                    </Stack>
                  </Card>
                );
              })}
            </SimpleGrid>
          </Stack>
        )}
      </QueryState>
      <Text fw={700}>Models</Text>
      <QueryState query={models} isEmpty={(d) => d.length === 0} empty={<Text c="dimmed">No enabled models.</Text>}>
        {(list) => (
          <ScrollTable minWidth={700} label="Model status">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Model</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Latency</Table.Th>
                <Table.Th>Last checked</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((m) => (
                <Table.Tr key={`${m.key}|${m.type}`}>
                  <Table.Td>{m.key}</Table.Td>
                  <Table.Td>{m.type}</Table.Td>
                  <Table.Td>
                    {m.status ? (
                      <Badge miw="max-content" color={m.status.status === 'operational' ? 'green' : 'red'} variant="light" tt="none">
                        {m.status.status}
                      </Badge>
                    ) : (
                      <Text size="sm" c="dimmed">
                        not checked
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{m.status?.latency == null ? '–' : `${formatNumber(m.status.latency)} ms`}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(m.status?.lastChecked)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </ScrollTable>
        )}
      </QueryState>
    </Page>
  );
}
