/** Shared admin inputs and badges: role/status badges, team options, model list input, one-time secrets. */
import { ActionIcon, Alert, Badge, Code, CopyButton, Group, Stack, TagsInput, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { apiFetch } from '../../../api/http';
import type { Paged, Role, Team, UserStatus } from '../types';

const ROLE_COLORS: Record<Role, string> = {
  super_admin: 'grape',
  admin: 'violet',
  admin_viewer: 'indigo',
  member: 'blue',
  member_viewer: 'cyan',
};

export function RoleBadge({ role }: { role: Role }) {
  return (
    <Badge miw="max-content" color={ROLE_COLORS[role] ?? 'gray'} variant="light" tt="none">
      {role}
    </Badge>
  );
}

export function StatusBadge({ status }: { status: UserStatus | string }) {
  const color = status === 'active' || status === 'success' ? 'green' : status === 'disabled' || status === 'failure' ? 'red' : 'gray';
  return (
    <Badge miw="max-content" color={color} variant="light" tt="none">
      {status}
    </Badge>
  );
}

/** Every team (first 100 by name) as Select options `{value: id, label: name}`. */
export function useTeamOptions(): { value: string; label: string }[] {
  const q = useQuery({
    queryKey: ['admin', 'teams', 'options'],
    queryFn: () => apiFetch<Paged<Team>>('/admin/teams', { query: { pageSize: 100 } }),
    staleTime: 30_000,
  });
  return (q.data?.list ?? []).map((t) => ({ value: t.id, label: t.name }));
}

/** A list of model names (or services): free text, Enter or comma adds one. */
export function ListInput({
  label,
  value,
  onChange,
  description,
  placeholder = 'Type and press Enter',
  disabled,
}: {
  label: string;
  value: string[];
  onChange: (v: string[]) => void;
  description?: string;
  placeholder?: string;
  disabled?: boolean;
}) {
  return (
    <TagsInput
      label={label}
      description={description}
      value={value}
      onChange={onChange}
      placeholder={placeholder}
      splitChars={[',', ' ']}
      clearable
      disabled={disabled}
    />
  );
}

/** A secret shown once (generated password, new key), with a copy button. */
export function OneTimeSecret({ label, secret, note }: { label: string; secret: string; note?: string }) {
  return (
    <Alert color="yellow" title={label}>
      <Stack gap="xs">
        <Group gap="xs" wrap="nowrap">
          <Code data-testid="one-time-secret" style={{ wordBreak: 'break-all' }}>
            {secret}
          </Code>
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Tooltip label={copied ? 'Copied' : 'Copy'}>
                <ActionIcon variant="subtle" onClick={copy} aria-label="Copy">
                  {copied ? '✓' : '⧉'}
                </ActionIcon>
              </Tooltip>
            )}
          </CopyButton>
        </Group>
        <Text size="sm">{note ?? 'It is shown only now: copy it before closing.'}</Text>
      </Stack>
    </Alert>
  );
}

/** A list of strings as small badges ("none" when empty). */
export function TagList({ values, empty = 'any' }: { values: string[]; empty?: string }) {
  if (values.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <Group gap={4}>
      {values.slice(0, 6).map((v) => (
        <Badge miw="max-content" key={v} variant="outline" tt="none" size="sm">
          {v}
        </Badge>
      ))}
      {values.length > 6 && <Text size="xs">+{values.length - 6}</Text>}
    </Group>
  );
}
