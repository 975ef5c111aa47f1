/** Daily credits (bars) and calls (line) of every user, on the console's ECharts wrapper (echarts/core with line and bar only). */
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import { EChart, type EChartsOption } from '../../../charts/EChart';
import { creditCurrency } from '../../../format';

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
    legend: { data: [`Credits (${currency.symbol})`, 'Calls'] },
    grid: { left: 56, right: 56, top: 40, bottom: 32 },
    xAxis: { type: 'category', data: days },
    yAxis: [
      { type: 'value', name: currency.symbol },
      { type: 'value', name: 'calls', minInterval: 1 },
    ],
    series: [
      { name: `Credits (${currency.symbol})`, type: 'bar', data: days.map((d) => byDay.get(d)?.credits ?? 0) },
      { name: 'Calls', type: 'line', yAxisIndex: 1, smooth: true, data: days.map((d) => byDay.get(d)?.calls ?? 0) },
    ],
  };
  return <EChart option={option} height={300} label="Daily credits and calls of every user" />;
}
