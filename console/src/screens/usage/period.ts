import { useMemo, useState } from 'react';

/** The ranges the usage screens offer, in days. */
export const PERIODS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
] as const;

export interface Period {
  days: number;
  /** Unix seconds, inclusive */
  startTime: number;
  /** Unix seconds, exclusive: the next whole hour, so the range is stable within an hour */
  endTime: number;
}

/** A period of `days` days ending at the next whole hour. */
export function periodOf(days: number, now = Date.now()): Period {
  const endTime = Math.ceil(now / 3_600_000) * 3600;
  return { days, startTime: endTime - days * 86_400, endTime };
}

/** The selected period (default 30 days) and its setter (a SegmentedControl value). */
export function usePeriod(initialDays = 30): [Period, string, (value: string) => void] {
  const [value, setValue] = useState(String(initialDays));
  const period = useMemo(() => periodOf(Number(value)), [value]);
  return [period, value, setValue];
}

/** Every UTC day (`YYYY-MM-DD`) the period touches, ascending. */
export function daysOf(period: Period): string[] {
  const days: string[] = [];
  const first = Math.floor(period.startTime / 86_400) * 86_400;
  for (let t = first; t < period.endTime; t += 86_400) days.push(new Date(t * 1000).toISOString().slice(0, 10));
  return days;
}
