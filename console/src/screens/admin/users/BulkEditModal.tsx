/**
 * Bulk edit of the selected users (`POST /admin/users/bulk-update`, all or nothing): allowed models
 * and services each replaced, added to or removed from; optionally a new team.
 */
import { Alert, Button, Checkbox, Group, Modal, SegmentedControl, Select, Stack, Text } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, apiFetch } from '../../../api/http';
import { ListInput, useTeamOptions } from '../lib/shared';
import { ErrorAlert, notifySuccess } from '../lib/ui';
import type { ListMode } from '../types';

const MODES: { value: ListMode; label: string }[] = [
  { value: 'replace', label: 'Replace' },
  { value: 'add', label: 'Add' },
  { value: 'remove', label: 'Remove' },
];

function ListEdit({
  label,
  enabled,
  setEnabled,
  mode,
  setMode,
  values,
  setValues,
}: {
  label: string;
  enabled: boolean;
  setEnabled: (v: boolean) => void;
  mode: ListMode;
  setMode: (m: ListMode) => void;
  values: string[];
  setValues: (v: string[]) => void;
}) {
  return (
    <Stack gap="xs">
      <Checkbox label={`Change ${label.toLowerCase()}`} checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
      {enabled && (
        <>
          <SegmentedControl data={MODES} value={mode} onChange={(v) => setMode(v as ListMode)} aria-label={`${label} mode`} />
          <ListInput
            label={label}
            value={values}
            onChange={setValues}
            description={mode === 'replace' ? 'The list becomes exactly these (empty: no restriction)' : undefined}
          />
        </>
      )}
    </Stack>
  );
}

export function BulkEditModal({
  opened,
  userIds,
  onClose,
  onDone,
}: {
  opened: boolean;
  userIds: string[];
  onClose: () => void;
  onDone: () => void;
}) {
  const qc = useQueryClient();
  const teamOptions = useTeamOptions();
  const [modelsOn, setModelsOn] = useState(true);
  const [modelsMode, setModelsMode] = useState<ListMode>('add');
  const [models, setModels] = useState<string[]>([]);
  const [servicesOn, setServicesOn] = useState(false);
  const [servicesMode, setServicesMode] = useState<ListMode>('add');
  const [services, setServices] = useState<string[]>([]);
  const [teamOn, setTeamOn] = useState(false);
  const [teamId, setTeamId] = useState<string | null>(null);

  const update = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<{ updated: string[] }>('/admin/users/bulk-update', {
        method: 'POST',
        body: {
          userIds,
          allowedModels: modelsOn ? { mode: modelsMode, values: models } : undefined,
          allowedServices: servicesOn ? { mode: servicesMode, values: services } : undefined,
          teamId: teamOn ? teamId : undefined,
        },
      }),
    onSuccess: (r) => {
      notifySuccess(`Updated ${r.updated.length} users`);
      void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
      update.reset();
      onDone();
    },
  });

  const problemIds =
    update.error instanceof ApiError && update.error.body && typeof update.error.body === 'object'
      ? ((update.error.body as { userIds?: string[] }).userIds ?? [])
      : [];

  return (
    <Modal opened={opened} onClose={onClose} title={`Edit ${userIds.length} users`} size="lg">
      <Stack>
        <Text size="sm" c="dimmed">
          All or nothing: if one user cannot be changed, none is.
        </Text>
        {update.isError && <ErrorAlert error={update.error} title="Nothing changed" />}
        {problemIds.length > 0 && <Alert color="red">Users concerned: {problemIds.join(', ')}</Alert>}
        <ListEdit
          label="Allowed models"
          enabled={modelsOn}
          setEnabled={setModelsOn}
          mode={modelsMode}
          setMode={setModelsMode}
          values={models}
          setValues={setModels}
        />
        <ListEdit
          label="Allowed services"
          enabled={servicesOn}
          setEnabled={setServicesOn}
          mode={servicesMode}
          setMode={setServicesMode}
          values={services}
          setValues={setServices}
        />
        <Checkbox label="Change team" checked={teamOn} onChange={(e) => setTeamOn(e.currentTarget.checked)} />
        {teamOn && (
          <Select label="Team" placeholder="No team" data={teamOptions} value={teamId} onChange={setTeamId} clearable searchable />
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button onClick={() => update.mutate()} loading={update.isPending} disabled={!modelsOn && !servicesOn && !teamOn}>
            Apply to {userIds.length} users
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
