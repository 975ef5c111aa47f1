import { useState } from 'react';
import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { Link, useNavigate } from 'react-router';
import { ApiError } from '../api/http';
import { notifySuccess } from '../components/notify';
import { useSession } from './session';

/** Shortest and longest password the api accepts (docs/api/auth.md). */
const MIN_LENGTH = 8;
const MAX_LENGTH = 256;

/**
 * POST /auth/password. Shown before anything else while `mustChangePassword` is set (first login
 * of the bootstrap admin, generated passwords), and from the user menu otherwise.
 */
export function ChangePasswordPage() {
  const session = useSession();
  const navigate = useNavigate();
  const forced = !!session.user?.mustChangePassword;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const mismatch = repeat.length > 0 && next !== repeat;
  const tooShort = next.length > 0 && next.length < MIN_LENGTH;

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (next !== repeat || next.length < MIN_LENGTH) return;
    setBusy(true);
    setError(null);
    try {
      await session.changePassword(current, next);
      notifySuccess('Your password was changed. Other sessions were logged out.');
      void navigate('/usage', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_credentials') setError('The current password is wrong.');
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={440}>
        <form onSubmit={(e) => void submit(e)} aria-label="Change password">
          <Stack>
            <div>
              <Title order={1} size="h3">
                {forced ? 'Choose a new password' : 'Change password'}
              </Title>
              <Text c="dimmed" size="sm">
                {forced
                  ? 'Your password must be changed before you can use the console.'
                  : 'Every other session of yours is logged out after the change.'}
              </Text>
            </div>
            {error && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <PasswordInput
              label="Current password"
              autoComplete="current-password"
              required
              autoFocus
              value={current}
              onChange={(e) => setCurrent(e.currentTarget.value)}
            />
            <PasswordInput
              label="New password"
              description={`${MIN_LENGTH} to ${MAX_LENGTH} characters`}
              autoComplete="new-password"
              required
              maxLength={MAX_LENGTH}
              value={next}
              error={tooShort ? `At least ${MIN_LENGTH} characters` : undefined}
              onChange={(e) => setNext(e.currentTarget.value)}
            />
            <PasswordInput
              label="Repeat the new password"
              autoComplete="new-password"
              required
              maxLength={MAX_LENGTH}
              value={repeat}
              error={mismatch ? 'The passwords differ' : undefined}
              onChange={(e) => setRepeat(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy} disabled={mismatch || tooShort} fullWidth>
              Change password
            </Button>
            {forced ? (
              <Anchor component="button" type="button" size="sm" onClick={() => void session.logout()}>
                Log out
              </Anchor>
            ) : (
              <Anchor component={Link} to="/usage" size="sm">
                Back
              </Anchor>
            )}
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
