/**
 * CSV import (`POST /admin/users/import`, docs/api/user-import.md): pick a mode and a file, run a
 * dry run first (its summary, the rows that would be created, changed or deleted, read from the dry
 * run's result file, and the bad rows), then the real run with its result and error files.
 */
import { Alert, Anchor, Badge, Button, Code, Group, List, Paper, Select, SimpleGrid, Stack, Table, Tabs, Text } from '@mantine/core';
import { Dropzone, type FileWithPath } from '@mantine/dropzone';
import '@mantine/dropzone/styles.css';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { parseCsvObjects } from '../lib/csv';
import { downloadFile, fetchText } from '../lib/download';
import { formatNumber } from '../lib/format';
import { ErrorAlert, notifyError, Page, ScrollTable } from '../lib/ui';
import { ROLES, type ImportMode, type ImportResult } from '../types';

const MODE_HELP: Record<ImportMode, string> = {
  add: 'Creates missing users (columns: email; optional role, team_name, key_name) and updates existing ones where a cell says otherwise.',
  delete: 'Deletes the listed users (column: email) with their keys, credit accounts and call logs.',
  sync: 'The file is the desired state (columns: email, role, team_name): missing users are created, changed ones updated, and every member absent from the file is deleted.',
};

interface PreviewRow {
  line: string;
  email: string;
  role: string;
  team_name: string;
  key_name: string;
  status: string;
}

interface Run {
  result: ImportResult;
  /** rows of the result file (dry run: what would happen) */
  rows: PreviewRow[] | null;
  rowsError: unknown;
}

async function runImport(file: File, mode: ImportMode, defaultRole: string, dryRun: boolean): Promise<Run> {
  const form = new FormData();
  form.append('file', file, file.name);
  const result = await apiFetch<ImportResult>('/admin/users/import', {
    method: 'POST',
    query: { mode, dryRun, defaultRole },
    body: form,
  });
  let rows: PreviewRow[] | null = null;
  let rowsError: unknown = null;
  if (dryRun) {
    // the dry run's result file says, row by row, what the real run would do (it has no secrets)
    try {
      rows = parseCsvObjects(await fetchText(result.resultCsvUrl)) as unknown as PreviewRow[];
    } catch (e) {
      rowsError = e;
    }
  }
  return { result, rows, rowsError };
}

export default function ImportScreen() {
  const { canWrite } = useAdminAccess();
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<ImportMode>('add');
  const [defaultRole, setDefaultRole] = useState('member');
  const [dry, setDry] = useState<Run | null>(null);
  const [real, setReal] = useState<Run | null>(null);

  const dryRun = useMutation({
    meta: { silent: true },
    mutationFn: () => runImport(file!, mode, defaultRole, true),
    onSuccess: (r) => {
      setDry(r);
      setReal(null);
    },
  });
  const realRun = useMutation({
    meta: { silent: true },
    mutationFn: () => runImport(file!, mode, defaultRole, false),
    onSuccess: (r) => {
      setReal(r);
      void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
      void qc.invalidateQueries({ queryKey: ['admin', 'teams'] });
    },
  });

  const changeInput = () => {
    setDry(null);
    setReal(null);
    dryRun.reset();
    realRun.reset();
  };

  return (
    <Page
      title="Import users from CSV"
      description={
        <Anchor component={Link} to="/admin/users" size="sm">
          ← Users
        </Anchor>
      }
    >
      {!canWrite && <Alert color="gray">Your role can read but not import.</Alert>}

      <Paper withBorder p="md">
        <Stack>
          <Group grow align="flex-start" wrap="wrap">
            <Select
              label="Mode"
              data={[
                { value: 'add', label: 'add' },
                { value: 'delete', label: 'delete' },
                { value: 'sync', label: 'sync' },
              ]}
              value={mode}
              onChange={(v) => {
                setMode((v as ImportMode) ?? 'add');
                changeInput();
              }}
              allowDeselect={false}
              disabled={!canWrite}
            />
            <Select
              label="Role for empty role cells"
              data={ROLES}
              value={defaultRole}
              onChange={(v) => {
                setDefaultRole(v ?? 'member');
                changeInput();
              }}
              allowDeselect={false}
              disabled={!canWrite || mode === 'delete'}
            />
          </Group>
          <Text size="sm" c="dimmed">
            {MODE_HELP[mode]}
          </Text>
          <Dropzone
            onDrop={(files: FileWithPath[]) => {
              setFile(files[0] ?? null);
              changeInput();
            }}
            onReject={() => notifyError(new Error('Choose one .csv file'), 'File refused')}
            accept={{ 'text/csv': ['.csv'], 'application/vnd.ms-excel': ['.csv'], 'text/plain': ['.csv'] }}
            maxFiles={1}
            multiple={false}
            disabled={!canWrite}
            aria-label="CSV file"
            data-testid="import-dropzone"
          >
            <Stack align="center" gap={4} py="lg" style={{ pointerEvents: 'none' }}>
              <Text fw={600}>{file ? file.name : 'Drop a CSV file here, or click to choose one'}</Text>
              <Text size="sm" c="dimmed">
                {file ? `${formatNumber(file.size)} bytes` : 'A header row is required, e.g. email,role,team_name,key_name'}
              </Text>
            </Stack>
          </Dropzone>
          <Group>
            <Button onClick={() => dryRun.mutate()} disabled={!file || !canWrite} loading={dryRun.isPending}>
              Dry run
            </Button>
            <Button
              color="red"
              onClick={() => realRun.mutate()}
              disabled={!file || !dry || real !== null || !canWrite}
              loading={realRun.isPending}
            >
              Import for real
            </Button>
            {!dry && file && (
              <Text size="sm" c="dimmed">
                Run a dry run first: it shows what would change and writes nothing.
              </Text>
            )}
          </Group>
          {dryRun.isError && <ErrorAlert error={dryRun.error} title="Dry run refused" />}
          {realRun.isError && <ErrorAlert error={realRun.error} title="Import refused" />}
        </Stack>
      </Paper>

      {real && <RunReport run={real} title="Import done" />}
      {dry && !real && <RunReport run={dry} title="Dry run: nothing was written" />}
    </Page>
  );
}

function Summary({ result }: { result: ImportResult }) {
  const s = result.summary;
  const items: [string, number, string][] = [
    ['Rows', s.rows, 'gray'],
    ['Created', s.created, 'green'],
    ['Updated', s.updated, 'blue'],
    ['Deleted', s.deleted, 'red'],
    ['Unchanged', s.unchanged, 'gray'],
    ['Errors', s.errors, 'orange'],
    ['Keys created', s.keysCreated, 'violet'],
  ];
  return (
    <SimpleGrid cols={{ base: 2, sm: 4, md: 7 }} data-testid="import-summary">
      {items.map(([label, n, color]) => (
        <Paper key={label} withBorder p="xs">
          <Text size="xs" c="dimmed">
            {label}
          </Text>
          <Text fw={700} c={n > 0 ? color : undefined} data-testid={`summary-${label.toLowerCase().replace(' ', '-')}`}>
            {formatNumber(n)}
          </Text>
        </Paper>
      ))}
    </SimpleGrid>
  );
}

const STATUS_COLORS: Record<string, string> = { created: 'green', updated: 'blue', deleted: 'red', unchanged: 'gray', not_found: 'orange' };

function RunReport({ run, title }: { run: Run; title: string }) {
  const { result, rows } = run;
  const changed = (rows ?? []).filter((r) => r.status !== 'unchanged');
  const download = (url: string, name: string) =>
    downloadFile(url, undefined, name).catch((e: unknown) => notifyError(e, 'Download failed'));
  return (
    <Paper withBorder p="md" data-testid={result.dryRun ? 'dry-run-report' : 'import-report'}>
      <Stack>
        <Group justify="space-between" wrap="wrap">
          <Text fw={700}>{title}</Text>
          <Group gap="xs">
            <Button size="xs" variant="default" onClick={() => void download(result.resultCsvUrl, 'result.csv')}>
              Result file
            </Button>
            <Button
              size="xs"
              variant="default"
              onClick={() => void download(result.errorCsvUrl, 'error.csv')}
              disabled={result.summary.errors === 0}
            >
              Error file
            </Button>
          </Group>
        </Group>
        <Summary result={result} />
        {!result.dryRun && result.summary.keysCreated > 0 && (
          <Alert color="yellow">
            The result file holds the secrets of the {result.summary.keysCreated} keys created: download it now (it is kept for one hour).
          </Alert>
        )}
        {!result.dryRun && (
          <Text size="sm">Users created by an import have no password: set one on their page before they can log in.</Text>
        )}
        <Tabs defaultValue={result.dryRun ? 'changes' : 'errors'}>
          <Tabs.List>
            {result.dryRun && <Tabs.Tab value="changes">Would change ({changed.length})</Tabs.Tab>}
            <Tabs.Tab value="errors">Bad rows ({result.summary.errors})</Tabs.Tab>
          </Tabs.List>
          {result.dryRun && (
            <Tabs.Panel value="changes" pt="sm">
              {run.rowsError ? (
                <ErrorAlert error={run.rowsError} title="Could not read the preview" />
              ) : changed.length === 0 ? (
                <Text c="dimmed">Nothing would change.</Text>
              ) : (
                <ScrollTable minWidth={700} label="Preview">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Line</Table.Th>
                      <Table.Th>Email</Table.Th>
                      <Table.Th>Would be</Table.Th>
                      <Table.Th>Role</Table.Th>
                      <Table.Th>Team</Table.Th>
                      <Table.Th>Key</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {changed.slice(0, 500).map((r, i) => (
                      <Table.Tr key={`${r.line}-${r.email}-${i}`} data-testid="preview-row">
                        <Table.Td>{r.line || '–'}</Table.Td>
                        <Table.Td>{r.email}</Table.Td>
                        <Table.Td>
                          <Badge miw="max-content" color={STATUS_COLORS[r.status] ?? 'gray'} variant="light" tt="none">
                            {r.status}
                          </Badge>
                        </Table.Td>
                        <Table.Td>{r.role}</Table.Td>
                        <Table.Td>{r.team_name}</Table.Td>
                        <Table.Td>{r.key_name}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </ScrollTable>
              )}
              {changed.length > 500 && <Text size="sm">The first 500 of {changed.length}; the result file has all.</Text>}
            </Tabs.Panel>
          )}
          <Tabs.Panel value="errors" pt="sm">
            {result.errors.length === 0 ? (
              <Text c="dimmed">No bad rows.</Text>
            ) : (
              <>
                <ScrollTable minWidth={700} label="Bad rows">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Line</Table.Th>
                      <Table.Th>Email</Table.Th>
                      <Table.Th>Code</Table.Th>
                      <Table.Th>Reason</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {result.errors.map((e) => (
                      <Table.Tr key={`${e.line}-${e.code}`} data-testid="error-row">
                        <Table.Td>{e.line}</Table.Td>
                        <Table.Td>{e.email}</Table.Td>
                        <Table.Td>
                          <Code>{e.code}</Code>
                        </Table.Td>
                        <Table.Td>{e.reason}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </ScrollTable>
                {result.summary.errors > result.errors.length && (
                  <List size="sm">
                    <List.Item>
                      The first {result.errors.length} of {result.summary.errors}; the error file has all.
                    </List.Item>
                  </List>
                )}
              </>
            )}
          </Tabs.Panel>
        </Tabs>
      </Stack>
    </Paper>
  );
}
