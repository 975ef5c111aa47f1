/** Create a user (`POST /admin/users`); a generated password is shown once. */
import { Button, Group, Modal, PasswordInput, Select, Stack, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { ListInput, OneTimeSecret, useTeamOptions } from '../lib/shared';
import { ErrorAlert } from '../lib/ui';
import { ROLES, type CreatedUser, type Role } from '../types';

export function CreateUserModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { isSuper } = useAdminAccess();
  const qc = useQueryClient();
  const teamOptions = useTeamOptions();
  const [email, setEmail] = useState('');
  const [fullName, setFullName] = useState('');
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [password, setPassword] = useState('');
  const [teamId, setTeamId] = useState<string | null>(null);
  const [allowedModels, setAllowedModels] = useState<string[]>([]);
  const [allowedServices, setAllowedServices] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedUser | null>(null);

  const create = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<CreatedUser>('/admin/users', {
        method: 'POST',
        body: {
          email,
          fullName: fullName || undefined,
          username: username || undefined,
          role,
          password: password || undefined,
          teamId: teamId ?? undefined,
          allowedModels,
          allowedServices,
        },
      }),
    onSuccess: (r) => {
      setCreated(r);
      void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
    },
  });

  const close = () => {
    setEmail('');
    setFullName('');
    setUsername('');
    setRole('member');
    setPassword('');
    setTeamId(null);
    setAllowedModels([]);
    setAllowedServices([]);
    setCreated(null);
    create.reset();
    onClose();
  };

  const roles = isSuper ? ROLES : ROLES.filter((r) => r === 'member' || r === 'member_viewer');

  return (
    <Modal opened={opened} onClose={close} title={created ? 'User created' : 'New user'} size="lg">
      {created ? (
        <Stack>
          <div>
            {created.user.email} ({created.user.role}) was created.
          </div>
          {created.generatedPassword && (
            <OneTimeSecret
              label="Generated password"
              secret={created.generatedPassword}
              note="Shown only now. The user must change it at the first login."
            />
          )}
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
            <TextInput label="Email" required type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} data-autofocus />
            <Group grow>
              <TextInput label="Full name" value={fullName} onChange={(e) => setFullName(e.currentTarget.value)} />
              <TextInput label="Username" value={username} onChange={(e) => setUsername(e.currentTarget.value)} />
            </Group>
            <Group grow>
              <Select label="Role" data={roles} value={role} onChange={(v) => setRole((v as Role) ?? 'member')} allowDeselect={false} />
              <Select label="Team" placeholder="No team" data={teamOptions} value={teamId} onChange={setTeamId} clearable searchable />
            </Group>
            <PasswordInput
              label="Password"
              description="8–256 characters. Leave empty to generate one (shown once)."
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="new-password"
            />
            <ListInput label="Allowed models" description="Empty: no restriction" value={allowedModels} onChange={setAllowedModels} />
            <ListInput label="Allowed services" value={allowedServices} onChange={setAllowedServices} />
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
