/** A user's virtual keys (`/admin/users/:id/keys`, docs/api/keys.md): list, create (secret shown once), rotate, revoke. */
import {
  Badge,
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  Pagination,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatTime, useCredits } from '../lib/format';
import { ListInput, OneTimeSecret, TagList } from '../lib/shared';
import { ConfirmButton, ErrorAlert, notifySuccess, QueryState, ScrollTable } from '../lib/ui';
import { ADMIN_ROLES, KEY_SCOPES, type AdminUser, type ApiKey, type ApiKeyWithSecret, type Paged } from '../types';

const PAGE_SIZE = 20;

export function UserKeys({ user }: { user: AdminUser }) {
  const { canWrite, isSuper, userId } = useAdminAccess();
  const credits = useCredits();
  const qc = useQueryClient();
  const [status, setStatus] = useState('all');
  const [page, setPage] = useState(1);
  const [createOpen, setCreateOpen] = useState(false);
  const [rotated, setRotated] = useState<ApiKeyWithSecret | null>(null);
  const base = `/admin/users/${user.id}/keys`;
  // keys of admin accounts: a super admin or their owner only (docs/api/keys.md)
  const writable = canWrite && (!ADMIN_ROLES.includes(user.role) || isSuper || user.id === userId);

  const query = useQuery({
    queryKey: ['admin', 'keys', user.id, status, page],
    queryFn: () => apiFetch<Paged<ApiKey>>(base, { query: { status, page, pageSize: PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ['admin', 'keys', user.id] });

  const revoke = async (k: ApiKey) => {
    await apiFetch<ApiKey>(`${base}/${k.id}/revoke`, { method: 'POST' });
    notifySuccess(`Key ${k.name} revoked`);
    refresh();
  };
  const rotate = async (k: ApiKey) => {
    const r = await apiFetch<ApiKeyWithSecret>(`${base}/${k.id}/rotate`, { method: 'POST' });
    setRotated(r);
    refresh();
  };

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <SegmentedControl
          aria-label="Key status"
          data={['all', 'active', 'revoked', 'expired']}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
        />
        {writable && <Button onClick={() => setCreateOpen(true)}>New key</Button>}
      </Group>
      <QueryState query={query} isEmpty={(d) => d.count === 0} empty="No keys.">
        {(data) => (
          <>
            <ScrollTable minWidth={1000} label="Keys">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Prefix</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Models</Table.Th>
                  <Table.Th>Scopes</Table.Th>
                  <Table.Th>Budget / spent</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.list.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td>{k.name}</Table.Td>
                    <Table.Td>
                      <Text ff="monospace" size="sm">
                        {k.prefix}…
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge miw="max-content" color={k.status === 'active' ? 'green' : 'gray'} variant="light" tt="none">
                        {k.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <TagList values={k.allowedModels} />
                    </Table.Td>
                    <Table.Td>
                      <TagList values={k.scopes} empty="gateway only" />
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      {k.creditBudget === null ? 'no budget' : credits(k.creditBudget)} / {credits(k.creditsSpent)}
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(k.expiresAt)}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(k.lastUsedAt)}</Table.Td>
                    <Table.Td>
                      {writable && k.status !== 'revoked' && (
                        <Group gap={4} wrap="nowrap">
                          <ConfirmButton
                            title="Rotate key"
                            message={`Rotate ${k.name}? The old secret stops working at once; the new one is shown once.`}
                            confirmLabel="Rotate"
                            color="blue"
                            onConfirm={() => rotate(k)}
                          >
                            Rotate
                          </ConfirmButton>
                          <ConfirmButton
                            title="Revoke key"
                            message={`Revoke ${k.name} (${k.prefix}…)? Calls with it are refused within a second.`}
                            confirmLabel="Revoke"
                            onConfirm={() => revoke(k)}
                          >
                            Revoke
                          </ConfirmButton>
                        </Group>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="flex-end">
              <Pagination total={Math.max(1, Math.ceil(data.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
            </Group>
          </>
        )}
      </QueryState>
      <CreateKeyModal base={base} opened={createOpen} onClose={() => setCreateOpen(false)} onCreated={refresh} />
      <Modal opened={rotated !== null} onClose={() => setRotated(null)} title="Key rotated">
        {rotated && (
          <Stack>
            <OneTimeSecret label={`New secret of ${rotated.name}`} secret={rotated.secret} />
            <Group justify="flex-end">
              <Button onClick={() => setRotated(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}

function CreateKeyModal({
  base,
  opened,
  onClose,
  onCreated,
}: {
  base: string;
  opened: boolean;
  onClose: () => void;
  onCreated: () => void;
}) {
  const [name, setName] = useState('');
  const [allowedModels, setAllowedModels] = useState<string[]>([]);
  const [allowedServices, setAllowedServices] = useState<string[]>([]);
  const [scopes, setScopes] = useState<string[]>([]);
  const [expiresAt, setExpiresAt] = useState('');
  const [creditBudget, setCreditBudget] = useState<string | number>('');
  const [rpmLimit, setRpmLimit] = useState<string | number>('');
  const [tpmLimit, setTpmLimit] = useState<string | number>('');
  const create = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<ApiKeyWithSecret>(base, {
        method: 'POST',
        body: {
          name,
          allowedModels,
          allowedServices,
          scopes,
          expiresAt: expiresAt ? new Date(expiresAt).toISOString() : undefined,
          creditBudget: creditBudget === '' ? undefined : String(creditBudget),
          rpmLimit: rpmLimit === '' ? undefined : Number(rpmLimit),
          tpmLimit: tpmLimit === '' ? undefined : Number(tpmLimit),
        },
      }),
    onSuccess: onCreated,
  });
  const close = () => {
    setName('');
    setAllowedModels([]);
    setAllowedServices([]);
    setScopes([]);
    setExpiresAt('');
    setCreditBudget('');
    setRpmLimit('');
    setTpmLimit('');
    create.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title={create.data ? 'Key created' : 'New key'} size="lg">
      {create.data ? (
        <Stack>
          <OneTimeSecret label={`Secret of ${create.data.name}`} secret={create.data.secret} />
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Stack>
            {create.isError && <ErrorAlert error={create.error} title="Not created" />}
            <TextInput label="Name" required maxLength={128} value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
            <ListInput
              label="Allowed models"
              description='Empty: no restriction at the key level; "all-team-models": the team decides'
              value={allowedModels}
              onChange={setAllowedModels}
            />
            <ListInput label="Allowed services" value={allowedServices} onChange={setAllowedServices} />
            <MultiSelect
              label="Scopes"
              description="Management-API access; none: gateway calls only"
              data={[...KEY_SCOPES]}
              value={scopes}
              onChange={setScopes}
              clearable
            />
            <Group grow>
              <TextInput label="Expires at" type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.currentTarget.value)} />
              <NumberInput label="Credit budget" min={0} decimalScale={10} value={creditBudget} onChange={setCreditBudget} />
            </Group>
            <Group grow>
              <NumberInput label="Requests per minute" min={1} allowDecimal={false} value={rpmLimit} onChange={setRpmLimit} />
              <NumberInput label="Tokens per minute" min={1} allowDecimal={false} value={tpmLimit} onChange={setTpmLimit} />
            </Group>
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={create.isPending}>
                Create
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
