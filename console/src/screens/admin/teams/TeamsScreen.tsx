/** Teams (`GET /admin/teams`, docs/api/teams.md): search, paging, create; each team opens its detail. */
import { Anchor, Button, Group, Modal, Pagination, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatNumber, formatTime } from '../lib/format';
import { ListInput, TagList } from '../lib/shared';
import { ErrorAlert, Page, QueryState, ScrollTable } from '../lib/ui';
import type { Paged, Team } from '../types';

const PAGE_SIZE = 25;

export default function TeamsScreen() {
  const { canWrite } = useAdminAccess();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 300);
  const [page, setPage] = useState(1);
  const [createOpen, setCreateOpen] = useState(false);
  const query = useQuery({
    queryKey: ['admin', 'teams', 'list', debounced, page],
    queryFn: () => apiFetch<Paged<Team>>('/admin/teams', { query: { search: debounced, page, pageSize: PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });

  return (
    <Page title="Teams" actions={canWrite && <Button onClick={() => setCreateOpen(true)}>New team</Button>}>
      <TextInput
        label="Search"
        placeholder="Team name"
        value={search}
        onChange={(e) => {
          setSearch(e.currentTarget.value);
          setPage(1);
        }}
        w={{ base: '100%', sm: 280 }}
      />
      <QueryState query={query} isEmpty={(d) => d.count === 0} empty={<Text c="dimmed">No teams.</Text>}>
        {(data) => (
          <>
            <ScrollTable minWidth={700} label="Teams">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Members</Table.Th>
                  <Table.Th>Allowed models</Table.Th>
                  <Table.Th>Created</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.list.map((t) => (
                  <Table.Tr key={t.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/admin/teams/${t.id}`} size="sm">
                        {t.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{formatNumber(t.memberCount)}</Table.Td>
                    <Table.Td>
                      <TagList values={t.allowedModels} />
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(t.createdAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="space-between">
              <Text size="sm" c="dimmed">
                {data.count} teams
              </Text>
              <Pagination total={Math.max(1, Math.ceil(data.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
            </Group>
          </>
        )}
      </QueryState>
      <CreateTeamModal opened={createOpen} onClose={() => setCreateOpen(false)} />
    </Page>
  );
}

function CreateTeamModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [models, setModels] = useState<string[]>([]);
  const create = useMutation({
    meta: { silent: true },
    mutationFn: () => apiFetch<Team>('/admin/teams', { method: 'POST', body: { name, allowedModels: models } }),
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: ['admin', 'teams'] });
      close();
      void navigate(`/admin/teams/${t.id}`);
    },
  });
  const close = () => {
    setName('');
    setModels([]);
    create.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title="New team">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          {create.isError && <ErrorAlert error={create.error} title="Not created" />}
          <TextInput label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
          <ListInput
            label="Allowed models"
            description="Bounds every member's keys; empty: no restriction"
            value={models}
            onChange={setModels}
          />
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
    </Modal>
  );
}
