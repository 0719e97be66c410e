/** The parts of ECharts the statistics draw, registered once. Imported only through
 * LazyChart's dynamic import, so charts are a chunk of their own, loaded with the first
 * chart and never before. */
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, FunnelChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export { echarts };
