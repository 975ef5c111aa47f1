/**
 * One team (`/admin/teams/:id`, docs/api/teams.md): rename, allowed models, delete, members (paged)
 * with add (`POST …/members`, users found by search) and remove.
 */
import { Anchor, Button, Group, MultiSelect, Pagination, Paper, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatTime } from '../lib/format';
import { ListInput, RoleBadge, StatusBadge } from '../lib/shared';
import { ConfirmButton, ErrorAlert, notifySuccess, Page, QueryState, ScrollTable } from '../lib/ui';
import type { AdminUser, Paged, TeamDetail } from '../types';

const PAGE_SIZE = 25;

export default function TeamDetailScreen() {
  const { id = '' } = useParams();
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ['admin', 'teams', 'one', id, page],
    queryFn: () => apiFetch<TeamDetail>(`/admin/teams/${encodeURIComponent(id)}`, { query: { page, pageSize: PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });
  return (
    <Page
      title={query.data?.name ?? 'Team'}
      description={
        <Anchor component={Link} to="/admin/teams" size="sm">
          ← Teams
        </Anchor>
      }
    >
      <QueryState query={query}>{(team) => <TeamView team={team} page={page} setPage={setPage} />}</QueryState>
    </Page>
  );
}

function TeamView({ team, page, setPage }: { team: TeamDetail; page: number; setPage: (p: number) => void }) {
  const { canWrite } = useAdminAccess();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(team.name);
  const [models, setModels] = useState(team.allowedModels);
  useEffect(() => {
    setName(team.name);
    setModels(team.allowedModels);
  }, [team]);
  const refresh = () => void qc.invalidateQueries({ queryKey: ['admin', 'teams'] });

  const save = useMutation({
    meta: { silent: true },
    mutationFn: () => apiFetch(`/admin/teams/${team.id}`, { method: 'PATCH', body: { name, allowedModels: models } }),
    onSuccess: () => {
      notifySuccess('Team saved');
      refresh();
    },
  });
  const remove = async () => {
    await apiFetch<void>(`/admin/teams/${team.id}`, { method: 'DELETE' });
    notifySuccess(`Team ${team.name} deleted`);
    refresh();
    void navigate('/admin/teams');
  };
  const removeMember = async (userId: string) => {
    await apiFetch<void>(`/admin/teams/${team.id}/members/${userId}`, { method: 'DELETE' });
    refresh();
    void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
  };

  return (
    <Stack>
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          <Stack maw={720}>
            {save.isError && <ErrorAlert error={save.error} title="Not saved" />}
            <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} readOnly={!canWrite} maxLength={200} />
            <ListInput
              label="Allowed models"
              description="Bounds every member's keys; empty: no restriction"
              value={models}
              onChange={setModels}
              disabled={!canWrite}
            />
            <Text size="sm" c="dimmed">
              Created {formatTime(team.createdAt)}, changed {formatTime(team.updatedAt)}
            </Text>
            {canWrite && (
              <Group>
                <Button type="submit" loading={save.isPending}>
                  Save
                </Button>
                <ConfirmButton
                  title="Delete team"
                  message={`Delete ${team.name}? Its ${team.memberCount} members stay, without a team.`}
                  confirmLabel="Delete"
                  size="sm"
                  onConfirm={remove}
                >
                  Delete team
                </ConfirmButton>
              </Group>
            )}
          </Stack>
        </form>
      </Paper>

      <Text fw={700}>Members ({team.members.count})</Text>
      {canWrite && <AddMembers teamId={team.id} onAdded={refresh} />}
      {team.members.count === 0 ? (
        <Text c="dimmed">No members.</Text>
      ) : (
        <>
          <ScrollTable minWidth={700} label="Members">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Email</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {team.members.list.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/admin/users/${m.id}`} size="sm">
                      {m.email}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{m.fullName ?? m.username ?? '–'}</Table.Td>
                  <Table.Td>
                    <RoleBadge role={m.role} />
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={m.status} />
                  </Table.Td>
                  <Table.Td>
                    {canWrite && (
                      <ConfirmButton
                        title="Remove member"
                        message={`Remove ${m.email} from ${team.name}?`}
                        confirmLabel="Remove"
                        onConfirm={() => removeMember(m.id)}
                      >
                        Remove
                      </ConfirmButton>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </ScrollTable>
          <Group justify="flex-end">
            <Pagination total={Math.max(1, Math.ceil(team.members.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
          </Group>
        </>
      )}
    </Stack>
  );
}

/** Pick users by search and add them (they leave their previous team). */
function AddMembers({ teamId, onAdded }: { teamId: string; onAdded: () => void }) {
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [picked, setPicked] = useState<string[]>([]);
  const [labels, setLabels] = useState<Record<string, string>>({});
  const found = useQuery({
    queryKey: ['admin', 'users', 'pick', debounced],
    queryFn: () => apiFetch<Paged<AdminUser>>('/admin/users', { query: { search: debounced, pageSize: 20 } }),
    enabled: debounced.length > 0,
  });
  const options = [
    ...picked.map((id) => ({ value: id, label: labels[id] ?? id })),
    ...(found.data?.list ?? [])
      .filter((u) => !picked.includes(u.id))
      .map((u) => ({ value: u.id, label: `${u.email}${u.team ? ` (${u.team.name})` : ''}` })),
  ];
  const add = useMutation({
    meta: { silent: true },
    mutationFn: () => apiFetch(`/admin/teams/${teamId}/members`, { method: 'POST', body: { userIds: picked } }),
    onSuccess: () => {
      notifySuccess(`Added ${picked.length} members`);
      setPicked([]);
      onAdded();
      void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
    },
  });
  return (
    <Stack gap="xs">
      {add.isError && <ErrorAlert error={add.error} title="Not added" />}
      <Group align="flex-end" wrap="wrap">
        <MultiSelect
          label="Add members"
          placeholder="Search users by email or name"
          data={options}
          value={picked}
          onChange={(ids) => {
            const next = { ...labels };
            for (const o of options) if (ids.includes(o.value)) next[o.value] = o.label;
            setLabels(next);
            setPicked(ids);
          }}
          searchable
          searchValue={search}
          onSearchChange={setSearch}
          filter={({ options: opts }) => opts}
          nothingFoundMessage={debounced ? 'No user found' : 'Type to search'}
          w={{ base: '100%', sm: 420 }}
        />
        <Button onClick={() => add.mutate()} disabled={picked.length === 0} loading={add.isPending}>
          Add
        </Button>
      </Group>
    </Stack>
  );
}
