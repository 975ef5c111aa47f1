/**
 * One provider (docs/api/providers.md): edit and delete; credentials (add with the api's live
 * validation, edit, delete, check, health as running/stopped with the last check's outcome); model
 * rates of the provider (create, edit, delete).
 */
import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  Paper,
  PasswordInput,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatTime } from '../lib/format';
import { ConfirmButton, ErrorAlert, notifySuccess, Page, QueryState, ScrollTable } from '../lib/ui';
import type { Credential, CredentialCheck, Provider } from '../types';
import { ProviderFormModal, PROVIDERS_KEY, useProviders } from './ProvidersScreen';
import { RateTable } from './RateTable';

export default function ProviderDetailScreen() {
  const { id = '' } = useParams();
  const query = useProviders();
  const provider = query.data?.find((p) => p.id === id);
  return (
    <Page
      title={provider ? provider.displayName : 'Provider'}
      description={
        <Anchor component={Link} to="/admin/providers" size="sm">
          ← Providers
        </Anchor>
      }
    >
      <QueryState query={query}>
        {() => (provider ? <ProviderView provider={provider} /> : <ErrorAlert error={new Error(`No provider ${id}`)} title="Not found" />)}
      </QueryState>
    </Page>
  );
}

function ProviderView({ provider }: { provider: Provider }) {
  const { canWrite } = useAdminAccess();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [editOpen, setEditOpen] = useState(false);
  const remove = async () => {
    await apiFetch<void>(`/ai-providers/${provider.id}`, { method: 'DELETE' });
    notifySuccess(`${provider.name} deleted`);
    void qc.invalidateQueries({ queryKey: PROVIDERS_KEY });
    void navigate('/admin/providers');
  };
  return (
    <Stack>
      <Paper withBorder p="md">
        <Group justify="space-between" wrap="wrap">
          <Stack gap={2}>
            <Text size="sm">
              <b>{provider.name}</b> · <span style={{ fontFamily: 'monospace' }}>{provider.baseUrl}</span>
            </Text>
            <Group gap="xs">
              <Badge miw="max-content" color={provider.enabled ? 'green' : 'gray'} variant="light" tt="none">
                {provider.enabled ? 'enabled' : 'disabled'}
              </Badge>
              <Text size="xs" c="dimmed">
                changed {formatTime(provider.updatedAt)}
              </Text>
            </Group>
          </Stack>
          {canWrite && (
            <Group gap="xs">
              <Button size="xs" variant="light" onClick={() => setEditOpen(true)}>
                Edit
              </Button>
              <ConfirmButton
                title="Delete provider"
                message={`Delete ${provider.name} with its credentials and model rates? Past calls keep their rows.`}
                confirmLabel="Delete"
                onConfirm={remove}
              >
                Delete
              </ConfirmButton>
            </Group>
          )}
        </Group>
      </Paper>
      {editOpen && <ProviderFormModal opened onClose={() => setEditOpen(false)} provider={provider} />}
      <Credentials provider={provider} />
      <Text fw={700} mt="md">
        Model rates
      </Text>
      <RateTable providerId={provider.id} />
    </Stack>
  );
}

function Credentials({ provider }: { provider: Provider }) {
  const { canWrite } = useAdminAccess();
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Credential | null>(null);
  /** outcome of the last check made from this page, per credential */
  const [checks, setChecks] = useState<Record<string, CredentialCheck | { error: unknown }>>({});
  const [checking, setChecking] = useState<string | null>(null);
  const base = `/ai-providers/${provider.id}/credentials`;
  const refresh = () => void qc.invalidateQueries({ queryKey: PROVIDERS_KEY });

  const check = async (c: Credential) => {
    setChecking(c.id);
    try {
      const r = await apiFetch<CredentialCheck>(`${base}/${c.id}/check`);
      setChecks((s) => ({ ...s, [c.id]: r }));
      refresh();
    } catch (e) {
      setChecks((s) => ({ ...s, [c.id]: { error: e } }));
    } finally {
      setChecking(null);
    }
  };
  const remove = async (c: Credential) => {
    await apiFetch<void>(`${base}/${c.id}`, { method: 'DELETE' });
    refresh();
  };

  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Text fw={700}>Credentials</Text>
        {canWrite && (
          <Button size="xs" onClick={() => setAdding(true)}>
            Add credential
          </Button>
        )}
      </Group>
      {provider.credentials.length === 0 ? (
        <Text c="dimmed" size="sm">
          No credentials: the gateway cannot route to this provider.
        </Text>
      ) : (
        <ScrollTable minWidth={900} label="Credentials">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Value</Table.Th>
              <Table.Th>Weight</Table.Th>
              <Table.Th>Health</Table.Th>
              <Table.Th>Last check</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {provider.credentials.map((c) => {
              const last = checks[c.id];
              return (
                <Table.Tr key={c.id}>
                  <Table.Td>{c.name}</Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {Object.values(c.maskedValue).join(' ')}
                    </Text>
                  </Table.Td>
                  <Table.Td>{c.weight}</Table.Td>
                  <Table.Td>
                    <Tooltip label={c.active ? 'Active; stopped after 3 failures within 5 minutes until the next success' : 'Inactive'}>
                      <Badge
                        miw="max-content"
                        color={c.running ? 'green' : 'red'}
                        variant="light"
                        tt="none"
                        data-testid="credential-health"
                      >
                        {c.running ? 'running' : c.active ? 'stopped' : 'inactive'}
                      </Badge>
                    </Tooltip>
                  </Table.Td>
                  <Table.Td>
                    {!last ? (
                      <Text size="xs" c="dimmed">
                        not checked here
                      </Text>
                    ) : 'error' in last ? (
                      <Text size="xs" c="red">
                        {last.error instanceof Error ? last.error.message : String(last.error)}
                      </Text>
                    ) : (
                      <Text size="xs" c={last.valid ? 'green' : 'red'}>
                        {last.status}
                        {last.upstreamStatus !== null ? ` (HTTP ${last.upstreamStatus})` : ''}
                        {last.latencyMs !== null ? `, ${last.latencyMs} ms` : ''} at {formatTime(last.checkedAt)}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      {canWrite && (
                        <Button size="xs" variant="light" loading={checking === c.id} onClick={() => void check(c)}>
                          Check
                        </Button>
                      )}
                      {canWrite && (
                        <Button size="xs" variant="subtle" onClick={() => setEditing(c)}>
                          Edit
                        </Button>
                      )}
                      {canWrite && (
                        <ConfirmButton
                          title="Delete credential"
                          message={`Delete ${c.name}?`}
                          confirmLabel="Delete"
                          onConfirm={() => remove(c)}
                        >
                          Delete
                        </ConfirmButton>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </ScrollTable>
      )}
      {adding && <CredentialModal base={base} onClose={() => setAdding(false)} onSaved={refresh} />}
      {editing && <CredentialModal base={base} credential={editing} onClose={() => setEditing(null)} onSaved={refresh} />}
    </Stack>
  );
}

/** Add (or edit) a credential. A new value is validated live by the api against the provider's /models. */
function CredentialModal({
  base,
  credential,
  onClose,
  onSaved,
}: {
  base: string;
  credential?: Credential;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [name, setName] = useState(credential?.name ?? '');
  const [value, setValue] = useState('');
  const [weight, setWeight] = useState<string | number>(credential?.weight ?? 100);
  const [active, setActive] = useState(credential?.active ?? true);
  const save = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<Credential>(credential ? `${base}/${credential.id}` : base, {
        method: credential ? 'PUT' : 'POST',
        body: { name, value: value || undefined, weight: Number(weight), active },
      }),
    onSuccess: () => {
      notifySuccess(credential ? 'Credential saved' : 'Credential validated and stored');
      onSaved();
      onClose();
    },
  });
  const upstream = save.error instanceof ApiError ? (save.error.body as { upstreamStatus?: number } | null)?.upstreamStatus : undefined;
  return (
    <Modal opened onClose={onClose} title={credential ? `Edit ${credential.name}` : 'Add credential'}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          {save.isError && (
            <ErrorAlert
              error={save.error}
              title={
                save.error instanceof ApiError && save.error.code === 'invalid_credential'
                  ? `The provider refused this key${upstream ? ` (HTTP ${upstream})` : ''}`
                  : save.error instanceof ApiError && save.error.code === 'provider_unavailable'
                    ? `The provider did not answer${upstream ? ` (HTTP ${upstream})` : ''}`
                    : 'Not saved'
              }
            />
          )}
          <TextInput label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
          <PasswordInput
            label={credential ? 'New API key (optional)' : 'API key'}
            description="Checked live against the provider before it is stored"
            required={!credential}
            maxLength={4096}
            value={value}
            onChange={(e) => setValue(e.currentTarget.value)}
            autoComplete="off"
          />
          <NumberInput
            label="Weight"
            description="Share of the provider's traffic"
            min={0}
            max={1_000_000}
            allowDecimal={false}
            value={weight}
            onChange={setWeight}
          />
          <Switch label="Active" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {save.isPending ? 'Validating…' : credential ? 'Save' : 'Validate and add'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
