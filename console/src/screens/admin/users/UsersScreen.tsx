/**
 * Users: search, filters (role, status, team), server-side sort and paging (`GET /admin/users`,
 * docs/api/users.md), create, bulk edit of allowed models/services and team (`bulk-update`), bulk
 * delete, CSV export, and the way to the CSV import.
 */
import { Anchor, Button, Checkbox, Group, Menu, Pagination, Select, Table, Text, TextInput, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { downloadFile } from '../lib/download';
import { formatTime, useCredits } from '../lib/format';
import { RoleBadge, StatusBadge, useTeamOptions } from '../lib/shared';
import { ConfirmButton, notifyError, notifySuccess, Page, QueryState, ScrollTable } from '../lib/ui';
import { ROLES, type AdminUser, type Paged, type UserSort } from '../types';
import { BulkEditModal } from './BulkEditModal';
import { CreateUserModal } from './CreateUserModal';

const PAGE_SIZE = 25;

interface Column {
  label: string;
  sort?: UserSort;
}
const COLUMNS: Column[] = [
  { label: 'Email', sort: 'email' },
  { label: 'Name', sort: 'fullName' },
  { label: 'Role', sort: 'role' },
  { label: 'Status', sort: 'status' },
  { label: 'Team', sort: 'team' },
  { label: 'Balance', sort: 'balance' },
  { label: 'Used this month', sort: 'creditsUsedThisMonth' },
  { label: 'Last call', sort: 'lastCallAt' },
  { label: 'Created', sort: 'createdAt' },
];

export default function UsersScreen() {
  const { canWrite } = useAdminAccess();
  const credits = useCredits();
  const qc = useQueryClient();
  const teamOptions = useTeamOptions();
  const [search, setSearch] = useState('');
  const [debouncedSearch] = useDebouncedValue(search.trim(), 300);
  const [role, setRole] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [teamId, setTeamId] = useState<string | null>(null);
  const [sort, setSort] = useState<UserSort | null>(null);
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [createOpen, setCreateOpen] = useState(false);
  const [bulkOpen, setBulkOpen] = useState(false);
  const [exporting, setExporting] = useState(false);

  const filters = { search: debouncedSearch, role, status, teamId, sort, order: sort ? order : undefined };
  const query = useQuery({
    queryKey: ['admin', 'users', filters, page],
    queryFn: () => apiFetch<Paged<AdminUser>>('/admin/users', { query: { ...filters, page, pageSize: PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });

  const resetPage =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setPage(1);
    };

  const toggleSort = (col: UserSort) => {
    if (sort === col) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(col);
      setOrder('asc');
    }
    setPage(1);
  };

  const bulkDelete = useMutation({
    meta: { silent: true },
    mutationFn: (userIds: string[]) =>
      apiFetch<{ deleted: string[]; notFound: string[]; refused: { id: string; code: string }[] }>('/admin/users/bulk-delete', {
        method: 'POST',
        body: { userIds },
      }),
    onSuccess: (r) => {
      notifySuccess(`Deleted ${r.deleted.length}; refused ${r.refused.length} (admin accounts); not found ${r.notFound.length}`);
      setSelected(new Set());
      void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
    },
  });

  const pageIds = query.data?.list.map((u) => u.id) ?? [];
  const allSelected = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  const exportCsv = async (includeKeys: boolean) => {
    setExporting(true);
    try {
      await downloadFile('/admin/users/export', { role, status, includeKeys }, 'users.csv');
    } catch (e) {
      notifyError(e, 'Export failed');
    } finally {
      setExporting(false);
    }
  };

  return (
    <Page
      title="Users"
      actions={
        <>
          <Menu position="bottom-end">
            <Menu.Target>
              <Button variant="default" loading={exporting}>
                Export CSV
              </Button>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>Role and status filters apply</Menu.Label>
              <Menu.Item onClick={() => void exportCsv(false)}>Users</Menu.Item>
              <Menu.Item onClick={() => void exportCsv(true)}>Users with their keys (no secrets)</Menu.Item>
            </Menu.Dropdown>
          </Menu>
          {canWrite && (
            <>
              <Button component={Link} to="/admin/users/import" variant="default">
                Import CSV
              </Button>
              <Button onClick={() => setCreateOpen(true)}>New user</Button>
            </>
          )}
        </>
      }
    >
      <Group gap="sm" wrap="wrap" align="flex-end">
        <TextInput
          label="Search"
          placeholder="Email, name, username, team, id…"
          value={search}
          onChange={(e) => {
            setSearch(e.currentTarget.value);
            setPage(1);
          }}
          w={{ base: '100%', sm: 280 }}
        />
        <Select label="Role" placeholder="Any" data={ROLES} value={role} onChange={resetPage(setRole)} clearable w={160} />
        <Select
          label="Status"
          placeholder="Any"
          data={['active', 'disabled']}
          value={status}
          onChange={resetPage(setStatus)}
          clearable
          w={130}
        />
        <Select
          label="Team"
          placeholder="Any"
          data={teamOptions}
          value={teamId}
          onChange={resetPage(setTeamId)}
          clearable
          searchable
          w={180}
        />
      </Group>

      {canWrite && selected.size > 0 && (
        <Group gap="sm" data-testid="bulk-bar">
          <Text size="sm">{selected.size} selected</Text>
          <Button size="xs" onClick={() => setBulkOpen(true)}>
            Edit models, services, team…
          </Button>
          <ConfirmButton
            title="Delete users"
            message={`Delete ${selected.size} users with their keys, credit accounts and call logs? Admin accounts are refused.`}
            confirmLabel="Delete"
            onConfirm={() => bulkDelete.mutateAsync([...selected])}
          >
            Delete selected
          </ConfirmButton>
          <Button size="xs" variant="subtle" onClick={() => setSelected(new Set())}>
            Clear selection
          </Button>
        </Group>
      )}

      <QueryState query={query} isEmpty={(d) => d.count === 0} empty="No users match these filters.">
        {(data) => (
          <>
            <ScrollTable minWidth={1100} label="Users">
              <Table.Thead>
                <Table.Tr>
                  {canWrite && (
                    <Table.Th w={36}>
                      <Checkbox
                        aria-label="Select all on this page"
                        checked={allSelected}
                        onChange={() => {
                          const next = new Set(selected);
                          pageIds.forEach((id) => (allSelected ? next.delete(id) : next.add(id)));
                          setSelected(next);
                        }}
                      />
                    </Table.Th>
                  )}
                  {COLUMNS.map((c) => (
                    <Table.Th key={c.label} aria-sort={sort === c.sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
                      {c.sort ? (
                        <UnstyledButton onClick={() => toggleSort(c.sort!)} fw={600} fz="sm">
                          {c.label} {sort === c.sort ? (order === 'asc' ? '▲' : '▼') : ''}
                        </UnstyledButton>
                      ) : (
                        c.label
                      )}
                    </Table.Th>
                  ))}
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.list.map((u) => (
                  <Table.Tr key={u.id} data-testid="user-row">
                    {canWrite && (
                      <Table.Td>
                        <Checkbox aria-label={`Select ${u.email}`} checked={selected.has(u.id)} onChange={() => toggle(u.id)} />
                      </Table.Td>
                    )}
                    <Table.Td>
                      <Anchor component={Link} to={`/admin/users/${u.id}`} size="sm">
                        {u.email}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{u.fullName ?? u.username ?? '–'}</Table.Td>
                    <Table.Td>
                      <RoleBadge role={u.role} />
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={u.status} />
                    </Table.Td>
                    <Table.Td>{u.team?.name ?? '–'}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{credits(u.spend.balance)}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{credits(u.spend.creditsUsedThisMonth)}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(u.spend.lastCallAt)}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(u.createdAt)}</Table.Td>
                    <Table.Td>
                      <Menu position="bottom-end" withinPortal>
                        <Menu.Target>
                          <Button size="compact-xs" variant="subtle" aria-label={`Actions for ${u.email}`}>
                            ⋯
                          </Button>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item component={Link} to={`/admin/users/${u.id}`}>
                            Details
                          </Menu.Item>
                          <Menu.Item component={Link} to={`/admin/users/${u.id}/keys`}>
                            Keys
                          </Menu.Item>
                        </Menu.Dropdown>
                      </Menu>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="space-between" wrap="wrap">
              <Text size="sm" c="dimmed">
                {data.count} users
              </Text>
              <Pagination total={Math.max(1, Math.ceil(data.count / PAGE_SIZE))} value={page} onChange={setPage} size="sm" />
            </Group>
          </>
        )}
      </QueryState>

      <CreateUserModal opened={createOpen} onClose={() => setCreateOpen(false)} />
      <BulkEditModal
        opened={bulkOpen}
        userIds={[...selected]}
        onClose={() => setBulkOpen(false)}
        onDone={() => {
          setBulkOpen(false);
          setSelected(new Set());
        }}
      />
    </Page>
  );
}
