/** Building blocks shared by the admin screens on top of src/components: tables, confirmations. */
import { Button, Group, Modal, Stack, Table } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { ApiError } from '../../../api/http';
import { ErrorAlert } from '../../../components';

export { ErrorAlert, notifyError, notifySuccess, Page, QueryState, StatCard } from '../../../components';

/** "message (code)" for an ApiError, else the error's message. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A table that scrolls horizontally on narrow screens. */
export function ScrollTable({ minWidth = 800, children, label }: { minWidth?: number; children: ReactNode; label?: string }) {
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped highlightOnHover verticalSpacing="xs" aria-label={label}>
        {children}
      </Table>
    </Table.ScrollContainer>
  );
}

/**
 * A button that asks for confirmation in a modal before running `onConfirm`; a failure is shown in
 * the modal (use apiFetch directly or a mutation with `meta: {silent: true}` to avoid a second notice).
 */
export function ConfirmButton({
  children,
  title,
  message,
  confirmLabel = 'Confirm',
  color = 'red',
  onConfirm,
  disabled,
  variant = 'light',
  size = 'xs',
}: {
  children: ReactNode;
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  color?: string;
  onConfirm: () => Promise<unknown> | void;
  disabled?: boolean;
  variant?: string;
  size?: string;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const close = () => {
    setOpen(false);
    setError(null);
  };
  return (
    <>
      <Button color={color} variant={variant} size={size} onClick={() => setOpen(true)} disabled={disabled}>
        {children}
      </Button>
      <Modal opened={open} onClose={close} title={title} centered>
        <Stack>
          <div>{message}</div>
          {error !== null && <ErrorAlert error={error} title="Failed" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button
              color={color}
              loading={busy}
              onClick={async () => {
                setBusy(true);
                setError(null);
                try {
                  await onConfirm();
                  close();
                } catch (e) {
                  setError(e);
                } finally {
                  setBusy(false);
                }
              }}
            >
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
