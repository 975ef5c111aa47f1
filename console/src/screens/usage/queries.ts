/** The usage screens' queries (docs/api/model-calls.md, docs/api/credits.md). */
import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { apiFetch } from '../../api/http';
import type { CreditBalance, CreditGrant, CreditTransaction, ModelCallFilters, ModelCallPage, Paged, UsageStats } from '../../api/types';

export const balanceQuery = () =>
  queryOptions({ queryKey: ['user', 'credit', 'balance'], queryFn: () => apiFetch<CreditBalance>('/user/credit/balance') });

export const usageStatsQuery = (startTime: number, endTime: number) =>
  queryOptions({
    queryKey: ['user', 'usage-stats', startTime, endTime],
    queryFn: () => apiFetch<UsageStats>('/user/usage-stats', { query: { startTime, endTime } }),
    placeholderData: keepPreviousData,
  });

export const modelCallsQuery = (filters: ModelCallFilters, page: number, pageSize: number) =>
  queryOptions({
    queryKey: ['user', 'model-calls', filters, page, pageSize],
    queryFn: () =>
      apiFetch<ModelCallPage>('/user/model-calls', {
        query: { ...filters, status: filters.status === 'all' ? undefined : filters.status, page, pageSize },
      }),
    placeholderData: keepPreviousData,
  });

export const grantsQuery = (page: number, pageSize: number) =>
  queryOptions({
    queryKey: ['user', 'credit', 'grants', page, pageSize],
    queryFn: () => apiFetch<Paged<CreditGrant>>('/user/credit/grants', { query: { page, pageSize } }),
    placeholderData: keepPreviousData,
  });

export const transactionsQuery = (type: string | null, page: number, pageSize: number) =>
  queryOptions({
    queryKey: ['user', 'credit', 'transactions', type, page, pageSize],
    queryFn: () => apiFetch<Paged<CreditTransaction>>('/user/credit/transactions', { query: { type, page, pageSize } }),
    placeholderData: keepPreviousData,
  });
