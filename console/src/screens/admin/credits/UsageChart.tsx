/**
 * Daily credits (bars) and calls (line) of every user. ECharts from echarts/core with only the
 * parts drawn here (bar, line, grid, tooltip, legend, canvas). The React binding is imported from
 * echarts-for-react's ES module build: its CommonJS `lib/core` reaches the bundle as a module
 * object instead of the component (React error 130).
 */
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import type { EChartsOption } from 'echarts';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { creditCurrency } from '../../../format';

echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

dayjs.extend(utc);

export default function UsageChart({
  daily,
  startTime,
  endTime,
}: {
  daily: Array<{ date: string; credits: number; calls: number }>;
  startTime: number;
  endTime: number;
}) {
  // every UTC day of the range, days without calls as 0
  const byDay = new Map(daily.map((d) => [d.date, d]));
  const days: string[] = [];
  for (let t = startTime; t < endTime; t += 86_400) days.push(dayjs.unix(t).utc().format('YYYY-MM-DD'));
  const currency = creditCurrency();
  const option: EChartsOption = {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: [`Credits (${currency.symbol})`, 'Calls'] },
    grid: { left: 56, right: 56, top: 56, bottom: 32 },
    xAxis: { type: 'category', data: days },
    yAxis: [
      { type: 'value', name: currency.symbol },
      { type: 'value', name: 'calls', minInterval: 1 },
    ],
    series: [
      { name: `Credits (${currency.symbol})`, type: 'bar', data: days.map((d) => byDay.get(d)?.credits ?? 0) },
      { name: 'Calls', type: 'line', yAxisIndex: 1, data: days.map((d) => byDay.get(d)?.calls ?? 0) },
    ],
  };
  return (
    <div role="img" aria-label="Daily credits and calls of every user">
      <ReactEChartsCore echarts={echarts} option={option} notMerge lazyUpdate style={{ height: 300, width: '100%' }} />
    </div>
  );
}
