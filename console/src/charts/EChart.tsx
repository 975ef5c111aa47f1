/**
 * ECharts with only the parts the console draws (line and bar charts, grid, tooltip, legend, on
 * canvas), registered on echarts/core so the bundle carries nothing else. Import this file
 * directly (not through a barrel) so only the screens with charts load it.
 */
// the ES module build: the CommonJS lib/core reaches the bundle as a module object, not the component
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsOption } from 'echarts';

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export type { EChartsOption };

export interface EChartProps {
  option: EChartsOption;
  /** CSS height (default 280px) */
  height?: number | string;
  /** the chart's accessible name (the canvas is described with it) */
  label: string;
}

/** One chart (canvas); resizes with its container. */
export function EChart({ option, height = 280, label }: EChartProps) {
  return (
    <div role="img" aria-label={label}>
      <ReactEChartsCore echarts={echarts} option={{ animation: false, ...option }} notMerge lazyUpdate style={{ height, width: '100%' }} />
    </div>
  );
}
