import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from '@mantine/core';
import type { ApiKeyWithSecret } from '../../api/types';

/**
 * The secret of a key just created or rotated, shown once (the api never answers it again to a
 * login): a copy button, and how to use it. Kept in component state only, never stored.
 */
export function SecretModal({ keyWithSecret, onClose }: { keyWithSecret: ApiKeyWithSecret | null; onClose: () => void }) {
  return (
    <Modal opened={keyWithSecret !== null} onClose={onClose} title="Your new key" size="lg" closeOnClickOutside={false}>
      {keyWithSecret && (
        <Stack>
          <Alert color="yellow" title="Copy it now">
            This secret is shown only once. Store it somewhere safe; if you lose it, rotate the key.
          </Alert>
          <Code block data-testid="key-secret" style={{ wordBreak: 'break-all' }}>
            {keyWithSecret.secret}
          </Code>
          <Text size="sm" c="dimmed">
            Use it as <Code>Authorization: Bearer …</Code> against <Code>{`${window.location.origin}/v1`}</Code> (any OpenAI SDK: set the
            base URL and the API key).
          </Text>
          <Group justify="flex-end">
            <CopyButton value={keyWithSecret.secret}>
              {({ copied, copy }) => (
                <Button color={copied ? 'teal' : undefined} onClick={copy} variant="light">
                  {copied ? 'Copied' : 'Copy secret'}
                </Button>
              )}
            </CopyButton>
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
