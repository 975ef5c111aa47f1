import { useState } from 'react';
import { Anchor, Badge, Group, Pagination, Paper, Select, SimpleGrid, Stack, Table, Tabs, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { Paged } from '../../api/types';
import { Page } from '../../components/Page';
import { QueryState } from '../../components/QueryState';
import { StatCard } from '../../components/StatCard';
import { useSession } from '../../auth/session';
import { formatCredits, formatDateTime, formatNumber } from '../../format';
import { USER_INFO_QUERY_KEY } from '../../auth/session';
import { apiFetch } from '../../api/http';
import type { UserInfo } from '../../api/types';
import { balanceQuery, grantsQuery, transactionsQuery } from './queries';

const PAGE_SIZE = 25;

const TYPES = [
  { value: 'all', label: 'Every type' },
  { value: 'grant', label: 'Grants' },
  { value: 'debit', label: 'Debits' },
  { value: 'refund', label: 'Refunds' },
  { value: 'expiry', label: 'Expiries' },
  { value: 'adjustment', label: 'Adjustments' },
];

function Pager<T>({ data, page, onChange }: { data: Paged<T>; page: number; onChange: (p: number) => void }) {
  const total = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
  return total > 1 ? (
    <Group justify="center">
      <Pagination total={total} value={page} onChange={onChange} />
    </Group>
  ) : null;
}

function Grants() {
  const [page, setPage] = useState(1);
  const grants = useQuery(grantsQuery(page, PAGE_SIZE));
  return (
    <QueryState query={grants} loadingLabel="Loading grants" isEmpty={(d) => d.count === 0} empty={<Text c="dimmed">No grants yet.</Text>}>
      {(d) => (
        <Stack gap="sm">
          <Table.ScrollContainer minWidth={720}>
            <Table striped aria-label="Grants">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Granted</Table.Th>
                  <Table.Th ta="right">Amount</Table.Th>
                  <Table.Th>Reason</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Expires</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.list.map((g) => (
                  <Table.Tr key={g.id}>
                    <Table.Td>{formatDateTime(g.createdAt)}</Table.Td>
                    <Table.Td ta="right">{formatCredits(g.amount)}</Table.Td>
                    <Table.Td>{g.reason}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={g.status === 'active' ? 'teal' : 'gray'} size="sm">
                        {g.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {g.expiresAt ? formatDateTime(g.expiresAt) : 'never'}
                      {g.expiredAmount !== null && g.expiredAmount > 0 && (
                        <Text size="xs" c="dimmed">
                          {formatCredits(g.expiredAmount)} expired
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager data={d} page={page} onChange={setPage} />
        </Stack>
      )}
    </QueryState>
  );
}

function Transactions() {
  const [page, setPage] = useState(1);
  const [type, setType] = useState('all');
  const tx = useQuery(transactionsQuery(type === 'all' ? null : type, page, PAGE_SIZE));
  return (
    <Stack gap="sm">
      <Select
        label="Type"
        data={TYPES}
        value={type}
        onChange={(v) => {
          setType(v ?? 'all');
          setPage(1);
        }}
        allowDeselect={false}
        maw={240}
      />
      <QueryState
        query={tx}
        loadingLabel="Loading transactions"
        isEmpty={(d) => d.count === 0}
        empty={<Text c="dimmed">No transactions.</Text>}
      >
        {(d) => (
          <Stack gap="sm">
            <Table.ScrollContainer minWidth={720}>
              <Table striped aria-label="Transactions">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Time</Table.Th>
                    <Table.Th>Type</Table.Th>
                    <Table.Th ta="right">Amount</Table.Th>
                    <Table.Th ta="right">Balance after</Table.Th>
                    <Table.Th>Description</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {d.list.map((t) => (
                    <Table.Tr key={t.id}>
                      <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(t.createdAt)}</Table.Td>
                      <Table.Td>{t.type}</Table.Td>
                      <Table.Td ta="right" c={t.amount < 0 ? 'red' : 'teal'}>
                        {formatCredits(t.amount, { signed: true })}
                      </Table.Td>
                      <Table.Td ta="right">{formatCredits(t.balanceAfter)}</Table.Td>
                      <Table.Td>{t.description ?? (t.modelCallId ? `call ${t.modelCallId.slice(0, 8)}…` : '')}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            <Pager data={d} page={page} onChange={setPage} />
          </Stack>
        )}
      </QueryState>
    </Stack>
  );
}

/** My credits: balance, the grants received and every ledger row (GET /user/credit/*). */
export function CreditsPage() {
  const { user } = useSession();
  const balance = useQuery(balanceQuery());
  const info = useQuery({ queryKey: USER_INFO_QUERY_KEY, queryFn: () => apiFetch<UserInfo>('/user/info'), enabled: !!user });
  return (
    <Page
      title="Credits"
      description="Your balance, the credits granted to you and every movement of your ledger."
      actions={
        info.data?.paymentLink ? (
          <Anchor href={info.data.paymentLink} target="_blank" rel="noopener noreferrer">
            Buy credits
          </Anchor>
        ) : null
      }
    >
      <QueryState query={balance} loadingLabel="Loading the balance">
        {(b) => (
          <SimpleGrid cols={{ base: 1, xs: 3 }}>
            <StatCard label="Balance" value={formatCredits(b.balance)} />
            <StatCard label="Pending" value={formatCredits(b.pendingCredit)} />
            <StatCard label="Active grants" value={formatCredits(b.total)} hint={`${formatNumber(b.grantCount)} grants`} />
          </SimpleGrid>
        )}
      </QueryState>
      <Paper withBorder p="md">
        <Tabs defaultValue="transactions" keepMounted={false}>
          <Tabs.List>
            <Tabs.Tab value="transactions">Transactions</Tabs.Tab>
            <Tabs.Tab value="grants">Grants</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="transactions" pt="md">
            <Transactions />
          </Tabs.Panel>
          <Tabs.Panel value="grants" pt="md">
            <Grants />
          </Tabs.Panel>
        </Tabs>
      </Paper>
    </Page>
  );
}
