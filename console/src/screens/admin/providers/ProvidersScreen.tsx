/** Providers (`GET /ai-providers`, docs/api/providers.md): list with credential health and rate counts, create. */
import { Anchor, Badge, Button, Group, Modal, Stack, Switch, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { ErrorAlert, Page, QueryState, ScrollTable } from '../lib/ui';
import type { Provider } from '../types';
import { ProvidersNav } from './ProvidersNav';

export const PROVIDERS_KEY = ['admin', 'providers'] as const;

export function useProviders() {
  return useQuery({ queryKey: PROVIDERS_KEY, queryFn: () => apiFetch<Provider[]>('/ai-providers') });
}

export default function ProvidersScreen() {
  const { canWrite } = useAdminAccess();
  const query = useProviders();
  const [createOpen, setCreateOpen] = useState(false);
  return (
    <Page title="Providers" actions={canWrite && <Button onClick={() => setCreateOpen(true)}>New provider</Button>}>
      <ProvidersNav />
      <QueryState query={query} isEmpty={(d) => d.length === 0} empty={<Text c="dimmed">No providers yet.</Text>}>
        {(providers) => (
          <ScrollTable minWidth={900} label="Providers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Display name</Table.Th>
                <Table.Th>Base URL</Table.Th>
                <Table.Th>Enabled</Table.Th>
                <Table.Th>Credentials running</Table.Th>
                <Table.Th>Model rates</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {providers.map((p) => {
                const running = p.credentials.filter((c) => c.running).length;
                return (
                  <Table.Tr key={p.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/admin/providers/${p.id}`} size="sm">
                        {p.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{p.displayName}</Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {p.baseUrl}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge miw="max-content" color={p.enabled ? 'green' : 'gray'} variant="light" tt="none">
                        {p.enabled ? 'enabled' : 'disabled'}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Badge
                        miw="max-content"
                        color={
                          p.credentials.length === 0
                            ? 'gray'
                            : running === p.credentials.length
                              ? 'green'
                              : running === 0
                                ? 'red'
                                : 'orange'
                        }
                        variant="light"
                        tt="none"
                      >
                        {running} / {p.credentials.length}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{p.modelRates.length}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </ScrollTable>
        )}
      </QueryState>
      <ProviderFormModal opened={createOpen} onClose={() => setCreateOpen(false)} />
    </Page>
  );
}

/** Create (no `provider`) or edit a provider (`POST /ai-providers`, `PUT /ai-providers/:id`). */
export function ProviderFormModal({ opened, onClose, provider }: { opened: boolean; onClose: () => void; provider?: Provider }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(provider?.name ?? '');
  const [displayName, setDisplayName] = useState(provider?.displayName ?? '');
  const [baseUrl, setBaseUrl] = useState(provider?.baseUrl ?? '');
  const [enabled, setEnabled] = useState(provider?.enabled ?? true);
  const save = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<Provider>(provider ? `/ai-providers/${provider.id}` : '/ai-providers', {
        method: provider ? 'PUT' : 'POST',
        body: { name, displayName, baseUrl, enabled },
      }),
    onSuccess: (p) => {
      void qc.invalidateQueries({ queryKey: PROVIDERS_KEY });
      save.reset();
      onClose();
      if (!provider) void navigate(`/admin/providers/${p.id}`);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title={provider ? `Edit ${provider.name}` : 'New provider'}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          {save.isError && <ErrorAlert error={save.error} title="Not saved" />}
          <TextInput
            label="Name"
            description="Lower case, used in provider/model (e.g. openai)"
            required
            pattern="^[a-z0-9][a-z0-9._-]*$"
            maxLength={64}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-autofocus
          />
          <TextInput
            label="Display name"
            required
            maxLength={200}
            value={displayName}
            onChange={(e) => setDisplayName(e.currentTarget.value)}
          />
          <TextInput
            label="Base URL"
            description="With the version path, e.g. https://api.openai.com/v1"
            required
            type="url"
            value={baseUrl}
            onChange={(e) => setBaseUrl(e.currentTarget.value)}
          />
          <Switch label="Enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {provider ? 'Save' : 'Create'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
