import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from './api/http';
import { notifyError } from './components/notify';

/** Retries only what may pass on a second try: network failures and 5xx, at most twice; never a 4xx. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status < 500) return false;
  return failureCount < 2;
}

/**
 * The console's query client. Queries: no retry on 4xx, 15 s fresh, no refetch on focus. Failed
 * mutations show a notification (unless their `meta.silent` is set: the form shows the error
 * itself); failed background refetches of data already shown do too (the first load's error is
 * shown in place by QueryState).
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (query.state.data !== undefined && !(error instanceof ApiError && error.status === 401)) notifyError(error, 'Refresh failed');
      },
    }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        if (!mutation.meta?.silent) notifyError(error);
      },
    }),
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 15_000, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}

/** The console's one query client (App provides it; route loaders prefetch into it). */
export const queryClient = createQueryClient();
