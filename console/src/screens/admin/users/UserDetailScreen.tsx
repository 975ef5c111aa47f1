/**
 * One user (`/admin/users/:id`): profile edit (`PATCH`), disable/enable, password reset (a
 * generated one is shown once), delete (admin-level accounts through `/admin/admins/:id`), and the
 * user's keys (`/admin/users/:id/keys`).
 */
import {
  Anchor,
  Badge,
  Button,
  Group,
  JsonInput,
  Modal,
  Paper,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  Tabs,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { apiFetch } from '../../../api/http';
import { useAdminAccess } from '../lib/access';
import { formatTime, useCredits } from '../lib/format';
import { ListInput, OneTimeSecret, RoleBadge, StatusBadge, useTeamOptions } from '../lib/shared';
import { ConfirmButton, ErrorAlert, notifySuccess, notifyError, QueryState } from '../lib/ui';
import { ADMIN_ROLES, ROLES, type AdminUser, type Role } from '../types';
import { UserKeys } from './UserKeys';

export default function UserDetailScreen() {
  const { id = '' } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const tab = location.pathname.endsWith('/keys') ? 'keys' : 'profile';
  const query = useQuery({
    queryKey: ['admin', 'users', 'one', id],
    queryFn: () => apiFetch<AdminUser>(`/admin/users/${encodeURIComponent(id)}`),
  });

  return (
    <Stack>
      <Anchor component={Link} to="/admin/users" size="sm">
        ← Users
      </Anchor>
      <QueryState query={query}>
        {(user) => (
          <Stack>
            <Group gap="sm" wrap="wrap">
              <Text component="h1" fz="xl" fw={700} m={0}>
                {user.email}
              </Text>
              <RoleBadge role={user.role} />
              <StatusBadge status={user.status} />
              {user.mustChangePassword && (
                <Badge miw="max-content" color="orange" variant="light" tt="none">
                  must change password
                </Badge>
              )}
            </Group>
            <Tabs value={tab} onChange={(v) => void navigate(v === 'keys' ? `/admin/users/${id}/keys` : `/admin/users/${id}`)}>
              <Tabs.List>
                <Tabs.Tab value="profile">Profile</Tabs.Tab>
                <Tabs.Tab value="keys">Keys</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="profile" pt="md">
                {tab === 'profile' && <UserProfile user={user} />}
              </Tabs.Panel>
              <Tabs.Panel value="keys" pt="md">
                {tab === 'keys' && <UserKeys user={user} />}
              </Tabs.Panel>
            </Tabs>
          </Stack>
        )}
      </QueryState>
    </Stack>
  );
}

function UserProfile({ user }: { user: AdminUser }) {
  const { canWrite, isSuper, userId } = useAdminAccess();
  const credits = useCredits();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const teamOptions = useTeamOptions();
  const adminLevel = ADMIN_ROLES.includes(user.role);
  // admin-level accounts are changed by a super admin only (docs/api/users.md "Rules")
  const editable = canWrite && (!adminLevel || isSuper);
  const [email, setEmail] = useState(user.email);
  const [fullName, setFullName] = useState(user.fullName ?? '');
  const [username, setUsername] = useState(user.username ?? '');
  const [role, setRole] = useState<Role>(user.role);
  const [teamId, setTeamId] = useState<string | null>(user.team?.id ?? null);
  const [allowedModels, setAllowedModels] = useState(user.allowedModels);
  const [allowedServices, setAllowedServices] = useState(user.allowedServices);
  const [metadata, setMetadata] = useState(JSON.stringify(user.metadata ?? {}, null, 2));
  const [passwordOpen, setPasswordOpen] = useState(false);

  useEffect(() => {
    setEmail(user.email);
    setFullName(user.fullName ?? '');
    setUsername(user.username ?? '');
    setRole(user.role);
    setTeamId(user.team?.id ?? null);
    setAllowedModels(user.allowedModels);
    setAllowedServices(user.allowedServices);
    setMetadata(JSON.stringify(user.metadata ?? {}, null, 2));
  }, [user]);

  const refresh = (u?: AdminUser) => {
    if (u) qc.setQueryData(['admin', 'users', 'one', user.id], u);
    void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
  };

  const save = useMutation({
    meta: { silent: true },
    mutationFn: () => {
      let meta: Record<string, unknown>;
      try {
        meta = JSON.parse(metadata || '{}') as Record<string, unknown>;
      } catch {
        throw new Error('Metadata is not valid JSON');
      }
      return apiFetch<AdminUser>(`/admin/users/${user.id}`, {
        method: 'PATCH',
        body: {
          email,
          fullName: fullName || undefined,
          username: username === '' ? (user.username ? null : undefined) : username,
          role,
          teamId,
          allowedModels,
          allowedServices,
          metadata: meta,
        },
      });
    },
    onSuccess: (u) => {
      notifySuccess('Saved');
      refresh(u);
    },
  });

  const setStatus = useMutation({
    meta: { silent: true },
    mutationFn: (action: 'disable' | 'enable') => apiFetch<AdminUser>(`/admin/users/${user.id}/${action}`, { method: 'POST' }),
    onSuccess: (u) => {
      notifySuccess(`User ${u.status === 'active' ? 'enabled' : 'disabled'}`);
      refresh(u);
    },
    onError: (e) => notifyError(e),
  });

  const remove = async () => {
    await apiFetch<void>(adminLevel ? `/admin/admins/${user.id}` : `/admin/users/${user.id}`, { method: 'DELETE' });
    notifySuccess(`${user.email} deleted`);
    void qc.invalidateQueries({ queryKey: ['admin', 'users'] });
    void navigate('/admin/users');
  };

  const roles = isSuper ? ROLES : ROLES.filter((r) => !ADMIN_ROLES.includes(r));
  const self = user.id === userId;

  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Stat label="Balance" value={credits(user.spend.balance)} />
        <Stat label="Used this month" value={credits(user.spend.creditsUsedThisMonth)} />
        <Stat label="Last call" value={formatTime(user.spend.lastCallAt)} />
        <Stat label="Created" value={formatTime(user.createdAt)} />
        <Stat label="Last login" value={formatTime(user.lastLoginAt)} />
        <Stat label="DID" value={user.did} />
      </SimpleGrid>

      {canWrite && (
        <Group gap="sm" wrap="wrap">
          {user.status === 'active' ? (
            <ConfirmButton
              title="Disable user"
              message={`Disable ${user.email}? Their logins end and their keys stop working within a second.`}
              confirmLabel="Disable"
              color="orange"
              disabled={!editable || self}
              onConfirm={() => setStatus.mutateAsync('disable')}
            >
              Disable
            </ConfirmButton>
          ) : (
            <Button size="xs" variant="light" color="green" disabled={!editable} onClick={() => setStatus.mutate('enable')}>
              Enable
            </Button>
          )}
          <Button size="xs" variant="light" disabled={!editable} onClick={() => setPasswordOpen(true)}>
            Reset password
          </Button>
          <ConfirmButton
            title="Delete user"
            message={`Delete ${user.email} with their keys, credit account and call log? This cannot be undone.`}
            confirmLabel="Delete"
            disabled={(adminLevel ? !isSuper : !editable) || self}
            onConfirm={remove}
          >
            Delete
          </ConfirmButton>
          {!editable && (
            <Text size="sm" c="dimmed">
              Only a super admin changes admin accounts.
            </Text>
          )}
        </Group>
      )}

      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack maw={720}>
          {save.isError && <ErrorAlert error={save.error} title="Not saved" />}
          <TextInput label="Email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} readOnly={!editable} />
          <Group grow>
            <TextInput label="Full name" value={fullName} onChange={(e) => setFullName(e.currentTarget.value)} readOnly={!editable} />
            <TextInput label="Username" value={username} onChange={(e) => setUsername(e.currentTarget.value)} readOnly={!editable} />
          </Group>
          <Group grow>
            <Select
              label="Role"
              data={roles.includes(role) ? roles : [...roles, role]}
              value={role}
              onChange={(v) => v && setRole(v as Role)}
              disabled={!editable}
              allowDeselect={false}
            />
            <Select
              label="Team"
              placeholder="No team"
              data={teamOptions}
              value={teamId}
              onChange={setTeamId}
              clearable
              searchable
              disabled={!editable}
            />
          </Group>
          <ListInput
            label="Allowed models"
            description="Empty: no restriction"
            value={allowedModels}
            onChange={setAllowedModels}
            disabled={!editable}
          />
          <ListInput label="Allowed services" value={allowedServices} onChange={setAllowedServices} disabled={!editable} />
          <JsonInput label="Metadata (JSON object)" value={metadata} onChange={setMetadata} autosize minRows={3} readOnly={!editable} />
          {editable && (
            <Group>
              <Button type="submit" loading={save.isPending}>
                Save
              </Button>
            </Group>
          )}
        </Stack>
      </form>

      <ResetPasswordModal user={user} opened={passwordOpen} onClose={() => setPasswordOpen(false)} />
    </Stack>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600} style={{ wordBreak: 'break-all' }}>
        {value}
      </Text>
    </Paper>
  );
}

function ResetPasswordModal({ user, opened, onClose }: { user: AdminUser; opened: boolean; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const reset = useMutation({
    meta: { silent: true },
    mutationFn: () =>
      apiFetch<{ generatedPassword?: string }>(`/admin/users/${user.id}/password`, {
        method: 'POST',
        body: password ? { password } : {},
      }),
  });
  const close = () => {
    setPassword('');
    reset.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title={`New password for ${user.email}`}>
      {reset.isSuccess ? (
        <Stack>
          {reset.data?.generatedPassword ? (
            <OneTimeSecret label="Generated password" secret={reset.data.generatedPassword} />
          ) : (
            <Text>The password was set.</Text>
          )}
          <Text size="sm">The user must change it at the next login; their sessions ended.</Text>
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            reset.mutate();
          }}
        >
          <Stack>
            {reset.isError && <ErrorAlert error={reset.error} title="Not changed" />}
            <PasswordInput
              label="New password"
              description="8–256 characters. Leave empty to generate one (shown once)."
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="new-password"
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={reset.isPending}>
                Set password
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
