/** Model rates of one provider (`/ai-providers/:providerId/model-rates`): list, create, edit (with a reason kept in the history), delete. */
import { Badge, Button, Group, JsonInput, Modal, Select, Stack, Switch, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatRate } from '../lib/format';
import { ConfirmButton, ErrorAlert, notifySuccess, QueryState, ScrollTable } from '../lib/ui';
import { RATE_TYPES, type ModelRate, type RateType } from '../types';
import { PROVIDERS_KEY } from './ProvidersScreen';

export function RateTable({ providerId }: { providerId: string }) {
  const { canWrite } = useAdminAccess();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<ModelRate | 'new' | null>(null);
  const base = `/ai-providers/${providerId}/model-rates`;
  const query = useQuery({ queryKey: ['admin', 'rates', providerId], queryFn: () => apiFetch<ModelRate[]>(base) });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['admin', 'rates'] });
    void qc.invalidateQueries({ queryKey: PROVIDERS_KEY });
  };
  const remove = async (r: ModelRate) => {
    await apiFetch<void>(`${base}/${r.id}`, { method: 'DELETE' });
    refresh();
  };
  return (
    <Stack gap="xs">
      {canWrite && (
        <Group>
          <Button size="xs" onClick={() => setEditing('new')}>
            Add model rate
          </Button>
        </Group>
      )}
      <QueryState query={query} isEmpty={(d) => d.length === 0} empty={<Text c="dimmed">No model rates.</Text>}>
        {(rates) => (
          <ScrollTable minWidth={900} label="Model rates">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Model</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Input (credits/token)</Table.Th>
                <Table.Th>Output (credits/token)</Table.Th>
                <Table.Th>Unit costs (USD/token)</Table.Th>
                <Table.Th>Enabled</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rates.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{r.model}</Table.Td>
                  <Table.Td>{r.type}</Table.Td>
                  <Table.Td ff="monospace">{formatRate(r.inputRate)}</Table.Td>
                  <Table.Td ff="monospace">{formatRate(r.outputRate)}</Table.Td>
                  <Table.Td ff="monospace">
                    {r.unitCosts ? `${formatRate(r.unitCosts.input)} / ${formatRate(r.unitCosts.output)}` : <Text c="dimmed">unknown</Text>}
                  </Table.Td>
                  <Table.Td>
                    <Badge miw="max-content" color={r.enabled ? 'green' : 'gray'} variant="light" tt="none">
                      {r.enabled ? 'yes' : 'no'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {canWrite && (
                      <Group gap={4} wrap="nowrap">
                        <Button size="xs" variant="subtle" onClick={() => setEditing(r)}>
                          Edit
                        </Button>
                        <ConfirmButton
                          title="Delete model rate"
                          message={`Delete the rate of ${r.model}? Its history stays.`}
                          confirmLabel="Delete"
                          onConfirm={() => remove(r)}
                        >
                          Delete
                        </ConfirmButton>
                      </Group>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </ScrollTable>
        )}
      </QueryState>
      {editing && (
        <RateFormModal base={base} rate={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} onSaved={refresh} />
      )}
    </Stack>
  );
}

const str = (v: number | null | undefined) => (v === null || v === undefined ? '' : formatRate(v));

/** Decimal inputs are sent as strings so they are stored exactly (docs/api-conventions.md "Decimal input"). */
function RateFormModal({ base, rate, onClose, onSaved }: { base: string; rate?: ModelRate; onClose: () => void; onSaved: () => void }) {
  const [model, setModel] = useState(rate?.model ?? '');
  const [type, setType] = useState<RateType>(rate?.type ?? 'chatCompletion');
  const [inputRate, setInputRate] = useState(str(rate?.inputRate));
  const [outputRate, setOutputRate] = useState(str(rate?.outputRate));
  const [costIn, setCostIn] = useState(str(rate?.unitCosts?.input));
  const [costOut, setCostOut] = useState(str(rate?.unitCosts?.output));
  const [enabled, setEnabled] = useState(rate?.enabled ?? true);
  const [metadata, setMetadata] = useState(JSON.stringify(rate?.modelMetadata ?? {}, null, 2));
  const [reason, setReason] = useState('');
  const save = useMutation({
    meta: { silent: true },
    mutationFn: () => {
      let meta: Record<string, unknown>;
      try {
        meta = JSON.parse(metadata || '{}') as Record<string, unknown>;
      } catch {
        throw new Error('Metadata is not valid JSON');
      }
      const unitCosts =
        costIn.trim() === '' && costOut.trim() === '' ? (rate ? null : undefined) : { input: costIn.trim(), output: costOut.trim() };
      return apiFetch<ModelRate>(rate ? `${base}/${rate.id}` : base, {
        method: rate ? 'PUT' : 'POST',
        body: {
          model,
          type,
          inputRate: inputRate.trim(),
          outputRate: outputRate.trim(),
          unitCosts,
          modelMetadata: meta,
          enabled,
          reason: rate && reason ? reason : undefined,
        },
      });
    },
    onSuccess: () => {
      notifySuccess(rate ? 'Rate saved' : 'Rate created');
      onSaved();
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={rate ? `Edit ${rate.model}` : 'New model rate'} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          {save.isError && <ErrorAlert error={save.error} title="Not saved" />}
          <Group grow>
            <TextInput
              label="Model"
              required
              maxLength={200}
              value={model}
              onChange={(e) => setModel(e.currentTarget.value)}
              data-autofocus
            />
            <Select label="Type" data={RATE_TYPES} value={type} onChange={(v) => v && setType(v as RateType)} allowDeselect={false} />
          </Group>
          <Group grow>
            <TextInput
              label="Input rate (credits/token)"
              required
              inputMode="decimal"
              value={inputRate}
              onChange={(e) => setInputRate(e.currentTarget.value)}
            />
            <TextInput
              label="Output rate (credits/token)"
              required
              inputMode="decimal"
              value={outputRate}
              onChange={(e) => setOutputRate(e.currentTarget.value)}
            />
          </Group>
          <Group grow>
            <TextInput
              label="Input unit cost (USD/token)"
              inputMode="decimal"
              value={costIn}
              onChange={(e) => setCostIn(e.currentTarget.value)}
            />
            <TextInput
              label="Output unit cost (USD/token)"
              inputMode="decimal"
              value={costOut}
              onChange={(e) => setCostOut(e.currentTarget.value)}
            />
          </Group>
          <JsonInput label="Model metadata (JSON object)" value={metadata} onChange={setMetadata} autosize minRows={2} />
          <Switch label="Enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          {rate && (
            <TextInput
              label="Reason (kept in the rate history)"
              maxLength={500}
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
            />
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {rate ? 'Save' : 'Create'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
