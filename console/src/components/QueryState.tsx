import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { Alert, Button, Center, EmptyState, Loader, Stack, Text } from '@mantine/core';
import { ApiError } from '../api/http';

export interface QueryStateProps<T> {
  /** the TanStack query whose data the children show */
  query: UseQueryResult<T>;
  /** true when the loaded data has nothing to show (then `empty` is rendered) */
  isEmpty?: (data: T) => boolean;
  /** what an empty answer shows (default: "Nothing here yet") */
  empty?: ReactNode;
  /** a label for the loader, read by screen readers */
  loadingLabel?: string;
  children: (data: T) => ReactNode;
}

/**
 * The loading, error and empty states of a query, so every screen shows them the same way:
 * a loader while pending, an Alert with the api's `code` and message and a Retry button on error,
 * `empty` when `isEmpty(data)`, else `children(data)`.
 */
export function QueryState<T>({ query, isEmpty, empty, loadingLabel = 'Loading', children }: QueryStateProps<T>) {
  if (query.isPending) {
    return (
      <Center py="xl" role="status" aria-label={loadingLabel}>
        <Loader size="sm" />
      </Center>
    );
  }
  if (query.isError) return <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <>{empty ?? <EmptyState title="Nothing here yet" size="sm" py="lg" />}</>;
  return <>{children(query.data)}</>;
}

/** An error as an Alert: the api's message and machine-readable code, and an optional Retry. */
export function ErrorAlert({ error, onRetry, title = 'Could not load' }: { error: unknown; onRetry?: () => void; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <Alert color="red" title={title} role="alert">
      <Stack gap="xs">
        <Text size="sm">{message}</Text>
        {code && (
          <Text size="xs" c="dimmed" ff="monospace">
            {code}
          </Text>
        )}
        {onRetry && (
          <div>
            <Button size="xs" variant="light" color="red" onClick={onRetry}>
              Retry
            </Button>
          </div>
        )}
      </Stack>
    </Alert>
  );
}
