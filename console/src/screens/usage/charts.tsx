/** The usage charts (ECharts): per-day bars, stacked by model when given, and the balance over time. */
import { useMemo } from 'react';
import { EChart, type EChartsOption } from '../../charts/EChart';
import { creditCurrency, formatCredits, formatNumber } from '../../format';

/** One series of a per-day chart: a name (a model, or "All models") and one value per day. */
export interface DaySeries {
  name: string;
  values: number[];
}

/** Bars per UTC day, stacked when there are several series. */
export function DailyBars({
  days,
  series,
  kind,
  label,
}: {
  days: string[];
  series: DaySeries[];
  kind: 'calls' | 'credits';
  label: string;
}) {
  const option = useMemo<EChartsOption>(() => {
    const format = (v: number) => (kind === 'credits' ? formatCredits(v) : formatNumber(v));
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v) => format(Number(v)) },
      legend: series.length > 1 ? { type: 'scroll', bottom: 0 } : undefined,
      grid: { left: 8, right: 8, top: kind === 'credits' ? 28 : 16, bottom: series.length > 1 ? 40 : 8, containLabel: true },
      xAxis: { type: 'category', data: days.map((d) => d.slice(5)), axisLabel: { hideOverlap: true } },
      yAxis: {
        type: 'value',
        name: kind === 'credits' ? creditCurrency().symbol : undefined,
        axisLabel: { formatter: (v: number) => formatNumber(v, { compact: true }) },
      },
      series: series.map((s) => ({ name: s.name, type: 'bar', stack: 'total', data: s.values, emphasis: { focus: 'series' } })),
    };
  }, [days, series, kind]);
  return <EChart option={option} label={label} height={300} />;
}

/** The balance after each ledger row, over time (a step line). */
export function BalanceLine({ points, label }: { points: Array<{ time: string; balance: number }>; label: string }) {
  const option = useMemo<EChartsOption>(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v) => formatCredits(Number(v)) },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatNumber(v, { compact: true }) } },
      series: [
        {
          name: 'Balance',
          type: 'line',
          step: 'end',
          showSymbol: false,
          areaStyle: { opacity: 0.15 },
          data: points.map((p) => [p.time, p.balance]),
        },
      ],
    }),
    [points],
  );
  return <EChart option={option} label={label} height={260} />;
}
