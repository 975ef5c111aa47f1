/**
 * The audit log (`GET /admin/audit-logs`, docs/audit-log.md; admins and admin viewers): filters,
 * keyset paging with "Load more" (the answer's `nextCursor`), one entry's detail in a drawer with
 * its redacted `changes`, and the CSV export of the filtered list (`/admin/audit-logs/export`).
 */
import {
  Badge,
  Button,
  Code,
  Drawer,
  Group,
  Paper,
  ScrollArea,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  UnstyledButton,
} from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch, type QueryValue } from '../../../api/http';
import { downloadFile } from '../lib/download';
import { formatTime } from '../lib/format';
import { StatusBadge } from '../lib/shared';
import { ErrorAlert, notifyError, Page, QueryState, ScrollTable } from '../lib/ui';
import type { AuditEntry, AuditPage } from '../types';

interface Filters {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  requestId: string;
  result: string | null;
  status: string;
  from: string;
  to: string;
}
const EMPTY: Filters = { actor: '', action: '', targetType: '', targetId: '', requestId: '', result: null, status: '', from: '', to: '' };
const LIMIT = 50;

/** The api's query for the filters: trimmed strings, local datetime inputs as ISO 8601. */
function toQuery(f: Filters): Record<string, QueryValue> {
  const iso = (v: string) => (v ? new Date(v).toISOString() : undefined);
  return {
    actor: f.actor.trim(),
    action: f.action.trim(),
    targetType: f.targetType.trim(),
    targetId: f.targetId.trim(),
    requestId: f.requestId.trim(),
    result: f.result,
    status: f.status.trim(),
    from: iso(f.from),
    to: iso(f.to),
  };
}

export default function AuditScreen() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [openId, setOpenId] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const query = useInfiniteQuery({
    queryKey: ['admin', 'audit', applied],
    queryFn: ({ pageParam }) =>
      apiFetch<AuditPage>('/admin/audit-logs', { query: { ...toQuery(applied), limit: LIMIT, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const set = (k: keyof Filters) => (v: string | null) => setDraft((d) => ({ ...d, [k]: v ?? '' }));
  const exportCsv = async () => {
    setExporting(true);
    try {
      await downloadFile('/admin/audit-logs/export', toQuery(applied), 'audit-log.csv');
    } catch (e) {
      notifyError(e, 'Export failed');
    } finally {
      setExporting(false);
    }
  };

  return (
    <Page
      title="Audit log"
      description="Who did what, when, from where, with what outcome. Secrets are never recorded."
      actions={
        <Button variant="default" onClick={() => void exportCsv()} loading={exporting}>
          Export CSV
        </Button>
      }
    >
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(draft);
          }}
        >
          <Stack gap="sm">
            <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
              <TextInput label="Actor (email)" value={draft.actor} onChange={(e) => set('actor')(e.currentTarget.value)} />
              <TextInput
                label="Action"
                placeholder="users.* or providers.update"
                value={draft.action}
                onChange={(e) => set('action')(e.currentTarget.value)}
              />
              <TextInput
                label="Target type"
                placeholder="user, provider…"
                value={draft.targetType}
                onChange={(e) => set('targetType')(e.currentTarget.value)}
              />
              <TextInput label="Target id" value={draft.targetId} onChange={(e) => set('targetId')(e.currentTarget.value)} />
              <Select
                label="Result"
                placeholder="Any"
                data={['success', 'failure']}
                value={draft.result}
                onChange={(v) => setDraft((d) => ({ ...d, result: v }))}
                clearable
              />
              <TextInput
                label="HTTP status"
                inputMode="numeric"
                value={draft.status}
                onChange={(e) => set('status')(e.currentTarget.value)}
              />
              <TextInput label="From" type="datetime-local" value={draft.from} onChange={(e) => set('from')(e.currentTarget.value)} />
              <TextInput label="To" type="datetime-local" value={draft.to} onChange={(e) => set('to')(e.currentTarget.value)} />
              <TextInput label="Request id" value={draft.requestId} onChange={(e) => set('requestId')(e.currentTarget.value)} />
            </SimpleGrid>
            <Group>
              <Button type="submit">Apply filters</Button>
              <Button
                variant="subtle"
                onClick={() => {
                  setDraft(EMPTY);
                  setApplied(EMPTY);
                }}
              >
                Clear
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>

      <QueryState
        query={query}
        isEmpty={(d) => d.pages[0]?.list.length === 0}
        empty={<Text c="dimmed">No entries match these filters.</Text>}
      >
        {(data) => (
          <Stack>
            <ScrollTable minWidth={1100} label="Audit entries">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Result</Table.Th>
                  <Table.Th>Request</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.pages.flatMap((p) =>
                  p.list.map((e) => (
                    <Table.Tr key={e.id} data-testid="audit-row">
                      <Table.Td style={{ whiteSpace: 'nowrap' }}>
                        <UnstyledButton
                          onClick={() => setOpenId(e.id)}
                          aria-label={`Details of ${e.action} at ${formatTime(e.createdAt)}`}
                          c="blue"
                          fz="sm"
                        >
                          {formatTime(e.createdAt)}
                        </UnstyledButton>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{e.actorLabel ?? e.actorType}</Text>
                        <Text size="xs" c="dimmed">
                          {e.actorType}
                          {e.actorRole ? ` · ${e.actorRole}` : ''}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Code>{e.action}</Code>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{e.targetType ?? '–'}</Text>
                        <Text size="xs" c="dimmed" ff="monospace">
                          {e.targetId ?? ''}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Group gap={4} wrap="nowrap">
                          <StatusBadge status={e.result} />
                          <Text size="xs">{e.status ?? ''}</Text>
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        <Text size="xs" ff="monospace">
                          {e.method} {e.path}
                        </Text>
                        <Text size="xs" c="dimmed">
                          {e.ip ?? ''}
                        </Text>
                      </Table.Td>
                    </Table.Tr>
                  )),
                )}
              </Table.Tbody>
            </ScrollTable>
            <Group justify="center">
              {query.hasNextPage ? (
                <Button variant="default" onClick={() => void query.fetchNextPage()} loading={query.isFetchingNextPage}>
                  Load more
                </Button>
              ) : (
                <Text size="sm" c="dimmed">
                  End of the log for these filters.
                </Text>
              )}
            </Group>
          </Stack>
        )}
      </QueryState>
      <EntryDrawer id={openId} onClose={() => setOpenId(null)} />
    </Page>
  );
}

function EntryDrawer({ id, onClose }: { id: string | null; onClose: () => void }) {
  const query = useQuery({
    queryKey: ['admin', 'audit', 'one', id],
    queryFn: () => apiFetch<AuditEntry>(`/admin/audit-logs/${id}`),
    enabled: id !== null,
  });
  return (
    <Drawer opened={id !== null} onClose={onClose} title="Audit entry" position="right" size="lg" scrollAreaComponent={ScrollArea.Autosize}>
      {query.isError ? (
        <ErrorAlert error={query.error} />
      ) : (
        <QueryState query={query}>
          {(e) => (
            <Stack gap="sm" data-testid="audit-detail">
              <Group gap="xs">
                <Code>{e.action}</Code>
                <StatusBadge status={e.result} />
                {e.status !== null && (
                  <Badge miw="max-content" variant="outline">
                    {e.status}
                  </Badge>
                )}
              </Group>
              <Table>
                <Table.Tbody>
                  {(
                    [
                      ['When', formatTime(e.createdAt)],
                      ['Actor', `${e.actorLabel ?? '–'} (${e.actorType}${e.actorRole ? `, ${e.actorRole}` : ''})`],
                      ['Actor user id', e.actorUserId],
                      ['Actor key id', e.actorKeyId],
                      ['Target', `${e.targetType ?? '–'} ${e.targetId ?? ''}`],
                      ['Request', `${e.method ?? ''} ${e.path ?? ''}`],
                      ['Request id', e.requestId],
                      ['IP', e.ip],
                      ['User agent', e.userAgent],
                      ['Entry id', e.id],
                    ] as [string, string | null][]
                  ).map(([k, v]) => (
                    <Table.Tr key={k}>
                      <Table.Th w={140}>{k}</Table.Th>
                      <Table.Td style={{ wordBreak: 'break-all' }}>{v ?? '–'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
              <Text fw={600}>Changes (secrets redacted)</Text>
              {e.changes === null || e.changes === undefined ? (
                <Text c="dimmed" size="sm">
                  None recorded (a request-only entry).
                </Text>
              ) : (
                <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                  {JSON.stringify(e.changes, null, 2)}
                </Code>
              )}
            </Stack>
          )}
        </QueryState>
      )}
    </Drawer>
  );
}
