import { useState } from 'react';
import { Badge, Button, Group, Menu, Modal, Pagination, SegmentedControl, Stack, Table, Text, ActionIcon } from '@mantine/core';
import { useMutation, useQuery, useQueryClient, keepPreviousData } from '@tanstack/react-query';
import { apiFetch } from '../../api/http';
import type { ApiKey, ApiKeyWithSecret, KeyInput, Paged } from '../../api/types';
import { Page } from '../../components/Page';
import { QueryState } from '../../components/QueryState';
import { notifySuccess } from '../../components/notify';
import { useSession } from '../../auth/session';
import { formatCredits, formatDateTime, formatNumber } from '../../format';
import { KeyForm } from './KeyForm';
import { SecretModal } from './SecretModal';

const PAGE_SIZE = 25;
const KEYS = ['user', 'keys'] as const;

const STATUS_COLORS: Record<ApiKey['status'], string> = { active: 'teal', revoked: 'gray', expired: 'orange' };

function limits(k: ApiKey): string {
  const parts = [];
  if (k.rpmLimit !== null) parts.push(`${formatNumber(k.rpmLimit)} rpm`);
  if (k.tpmLimit !== null) parts.push(`${formatNumber(k.tpmLimit)} tpm`);
  return parts.join(' · ') || '—';
}

function KeyRow({
  k,
  readOnly,
  onEdit,
  onRotate,
  onRevoke,
}: {
  k: ApiKey;
  readOnly: boolean;
  onEdit: () => void;
  onRotate: () => void;
  onRevoke: () => void;
}) {
  return (
    <Table.Tr data-testid="key-row">
      <Table.Td>
        <Text fw={600}>{k.name}</Text>
        <Text size="xs" c="dimmed" ff="monospace">
          {k.prefix}…
        </Text>
      </Table.Td>
      <Table.Td>
        <Badge color={STATUS_COLORS[k.status]} variant="light" size="sm">
          {k.status}
        </Badge>
      </Table.Td>
      <Table.Td>{k.allowedModels.length ? k.allowedModels.join(', ') : <Text c="dimmed">any</Text>}</Table.Td>
      <Table.Td>{limits(k)}</Table.Td>
      <Table.Td ta="right">
        {k.creditBudget !== null ? `${formatCredits(k.creditsSpent)} / ${formatCredits(k.creditBudget)}` : formatCredits(k.creditsSpent)}
      </Table.Td>
      <Table.Td>{k.expiresAt ? formatDateTime(k.expiresAt) : 'never'}</Table.Td>
      <Table.Td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : '—'}</Table.Td>
      <Table.Td>
        {!readOnly && k.status !== 'revoked' && (
          <Menu position="bottom-end" withinPortal>
            <Menu.Target>
              <ActionIcon variant="subtle" aria-label={`Actions for ${k.name}`}>
                ⋯
              </ActionIcon>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Item onClick={onEdit}>Edit</Menu.Item>
              <Menu.Item onClick={onRotate}>Rotate secret</Menu.Item>
              <Menu.Item color="red" onClick={onRevoke}>
                Revoke
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

type Confirm = { kind: 'revoke' | 'rotate'; key: ApiKey } | null;

/** My keys (docs/api/keys.md "Own keys"): list, create (secret shown once), edit, rotate, revoke. */
export function KeysPage() {
  const { user } = useSession();
  const readOnly = user?.role === 'member_viewer' || user?.role === 'admin_viewer';
  const queryClient = useQueryClient();
  const [status, setStatus] = useState('active');
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [secret, setSecret] = useState<ApiKeyWithSecret | null>(null);

  const keys = useQuery({
    queryKey: [...KEYS, status, page],
    queryFn: () => apiFetch<Paged<ApiKey>>('/user/keys', { query: { status, page, pageSize: PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: KEYS });

  const create = useMutation({
    mutationFn: (input: KeyInput) => apiFetch<ApiKeyWithSecret>('/user/keys', { method: 'POST', body: input }),
    onSuccess: (k) => {
      setCreating(false);
      setSecret(k);
      void refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, input }: { id: string; input: KeyInput }) => apiFetch<ApiKey>(`/user/keys/${id}`, { method: 'PATCH', body: input }),
    onSuccess: (k) => {
      setEditing(null);
      notifySuccess(`Key “${k.name}” saved`);
      void refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (id: string) => apiFetch<ApiKeyWithSecret>(`/user/keys/${id}/rotate`, { method: 'POST' }),
    onSuccess: (k) => {
      setConfirm(null);
      setSecret(k);
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => apiFetch<ApiKey>(`/user/keys/${id}/revoke`, { method: 'POST' }),
    onSuccess: (k) => {
      setConfirm(null);
      notifySuccess(`Key “${k.name}” revoked`);
      void refresh();
    },
  });

  return (
    <Page
      title="My keys"
      description="Virtual keys for the gateway (OpenAI-compatible, /v1). A secret is shown once, when the key is created or rotated."
      actions={
        !readOnly && (
          <Button onClick={() => setCreating(true)} data-testid="create-key">
            Create key
          </Button>
        )
      }
    >
      <SegmentedControl
        aria-label="Status"
        value={status}
        onChange={(v) => {
          setStatus(v);
          setPage(1);
        }}
        data={[
          { value: 'active', label: 'Active' },
          { value: 'expired', label: 'Expired' },
          { value: 'revoked', label: 'Revoked' },
          { value: 'all', label: 'All' },
        ]}
        w="fit-content"
      />
      <QueryState
        query={keys}
        loadingLabel="Loading keys"
        isEmpty={(d) => d.count === 0}
        empty={<Text c="dimmed">No {status === 'all' ? '' : status} keys.</Text>}
      >
        {(d) => (
          <Stack gap="sm">
            <Table.ScrollContainer minWidth={960}>
              <Table striped highlightOnHover aria-label="Keys">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Allowed models</Table.Th>
                    <Table.Th>Limits</Table.Th>
                    <Table.Th ta="right">Spent / budget</Table.Th>
                    <Table.Th>Expires</Table.Th>
                    <Table.Th>Last used</Table.Th>
                    <Table.Th aria-label="Actions" />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {d.list.map((k) => (
                    <KeyRow
                      key={k.id}
                      k={k}
                      readOnly={readOnly}
                      onEdit={() => setEditing(k)}
                      onRotate={() => setConfirm({ kind: 'rotate', key: k })}
                      onRevoke={() => setConfirm({ kind: 'revoke', key: k })}
                    />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {d.count > PAGE_SIZE && (
              <Group justify="center">
                <Pagination total={Math.ceil(d.count / PAGE_SIZE)} value={page} onChange={setPage} />
              </Group>
            )}
          </Stack>
        )}
      </QueryState>

      <Modal opened={creating} onClose={() => setCreating(false)} title="Create a key" size="lg">
        <KeyForm
          submitLabel="Create key"
          busy={create.isPending}
          onSubmit={(input) => create.mutate(input)}
          onCancel={() => setCreating(false)}
        />
      </Modal>
      <Modal opened={editing !== null} onClose={() => setEditing(null)} title={`Edit “${editing?.name ?? ''}”`} size="lg">
        {editing && (
          <KeyForm
            initial={editing}
            submitLabel="Save"
            busy={update.isPending}
            onSubmit={(input) => update.mutate({ id: editing.id, input })}
            onCancel={() => setEditing(null)}
          />
        )}
      </Modal>
      <Modal
        opened={confirm !== null}
        onClose={() => setConfirm(null)}
        title={confirm?.kind === 'revoke' ? 'Revoke the key?' : 'Rotate the secret?'}
      >
        {confirm && (
          <Stack>
            <Text size="sm">
              {confirm.kind === 'revoke'
                ? `“${confirm.key.name}” stops working at once, everywhere. This cannot be undone.`
                : `“${confirm.key.name}” gets a new secret; the current one stops working at once. Its settings and history stay.`}
            </Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setConfirm(null)}>
                Cancel
              </Button>
              <Button
                color={confirm.kind === 'revoke' ? 'red' : undefined}
                loading={revoke.isPending || rotate.isPending}
                onClick={() => (confirm.kind === 'revoke' ? revoke.mutate(confirm.key.id) : rotate.mutate(confirm.key.id))}
              >
                {confirm.kind === 'revoke' ? 'Revoke' : 'Rotate'}
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
      <SecretModal keyWithSecret={secret} onClose={() => setSecret(null)} />
    </Page>
  );
}
