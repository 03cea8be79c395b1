// The three charts (Chart.js, only the parts used are registered so the bundle stays small).
// Colours are the Okabe–Ito palette, readable by colour-blind viewers and on a projector.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { byId } from './dom';
import type { CellExecutionCounts, NotebookAnalytics, ProgressPoint } from './queries';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Filler, Legend, Tooltip);

const BLUE = '#0072B2';
const VERMILLION = '#D55E00';
const ORANGE = '#E69F00';
const GREEN = '#009E73';
const INK = '#1a1a1a';

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.color = INK;
Chart.defaults.font.size = 14;

/** Cell labels: the position in the notebook, and the id in the tooltip. */
export interface CellAxis {
  ids: string[];
  labels: string[];
}

export function cellAxis(order: string[], extra: string[]): CellAxis {
  const ids = [...order, ...extra.filter((id) => !order.includes(id)).sort()];
  const labels = ids.map((id, index) => (id === '' ? 'unmapped' : index < order.length ? String(index + 1) : id));
  return { ids, labels };
}

const charts = new Map<string, Chart>();

function upsert(id: string, config: ChartConfiguration): void {
  const existing = charts.get(id);
  if (existing) {
    existing.data = config.data;
    existing.options = config.options ?? {};
    existing.update('none');
    return;
  }
  charts.set(id, new Chart(byId<HTMLCanvasElement>(id), config));
}

function titleWithId(axis: CellAxis) {
  return (items: Array<{ dataIndex: number }>) => {
    const index = items[0]?.dataIndex ?? 0;
    return `Cell ${axis.labels[index]} (${axis.ids[index] || 'no original cell'})`;
  };
}

export function drawExecutions(axis: CellAxis, counts: CellExecutionCounts[]): void {
  const byCell = new Map(counts.map((count) => [count.cellId, count]));
  const ok = axis.ids.map((id) => byCell.get(id)?.okExecutionCount ?? 0);
  const errors = axis.ids.map((id) => {
    const count = byCell.get(id);
    return count ? count.executionCount - count.okExecutionCount : 0;
  });
  upsert('chart-exec', {
    type: 'bar',
    data: {
      labels: axis.labels,
      datasets: [
        { label: 'OK', data: ok, backgroundColor: BLUE },
        { label: 'Error', data: errors, backgroundColor: VERMILLION },
      ],
    },
    options: {
      scales: { x: { stacked: true, title: { display: true, text: 'Cell' } }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'Executions' } } },
      plugins: { tooltip: { callbacks: { title: titleWithId(axis) } } },
    },
  });
}

export function drawTimes(axis: CellAxis, analytics: NotebookAnalytics): void {
  const summary = new Map(analytics.focusDurationSummary.map((cell) => [cell.cellId, cell]));
  const average = new Map(analytics.timePerCell.cells.map((cell) => [cell.cellId, cell.averageDuration]));
  upsert('chart-time', {
    type: 'bar',
    data: {
      labels: axis.labels,
      datasets: [
        {
          label: 'Quartiles (25–75 %)',
          data: axis.ids.map((id) => {
            const cell = summary.get(id);
            return cell ? [cell.firstQuartile, cell.thirdQuartile] : null;
          }) as unknown as number[],
          backgroundColor: 'rgba(0, 114, 178, 0.35)',
          borderColor: BLUE,
          borderWidth: 2,
        },
        {
          type: 'line',
          label: 'Median',
          data: axis.ids.map((id) => summary.get(id)?.median ?? null),
          showLine: false,
          pointStyle: 'rectRot',
          pointRadius: 7,
          backgroundColor: INK,
          borderColor: INK,
        },
        {
          type: 'line',
          label: 'Average over students',
          data: axis.ids.map((id) => average.get(id) ?? null),
          showLine: false,
          pointRadius: 6,
          backgroundColor: ORANGE,
          borderColor: ORANGE,
        },
      ],
    },
    options: {
      scales: { x: { title: { display: true, text: 'Cell' } }, y: { beginAtZero: true, title: { display: true, text: 'Seconds' } } },
      plugins: { tooltip: { callbacks: { title: titleWithId(axis) } } },
    },
  });
}

export function drawProgress(points: ProgressPoint[], cellCount: number): void {
  const labels = points.map((point) => new Date(point.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  upsert('chart-progress', {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'Third quartile', data: points.map((p) => p.thirdQuartile), borderColor: 'rgba(0, 158, 115, 0.5)', backgroundColor: 'rgba(0, 158, 115, 0.2)', fill: '+1', pointRadius: 0 },
        { label: 'First quartile', data: points.map((p) => p.firstQuartile), borderColor: 'rgba(0, 158, 115, 0.5)', pointRadius: 0 },
        { label: 'Median', data: points.map((p) => p.median), borderColor: GREEN, borderWidth: 3, pointRadius: 0 },
        { label: 'Mean', data: points.map((p) => p.mean), borderColor: INK, borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: 'Time' }, ticks: { maxTicksLimit: 12 } },
        // Up to the furthest third quartile, not the notebook's last cell: early in a session
        // the class is in the first cells and would be a flat line at the bottom.
        y: { min: 0, max: Math.max(1, Math.min(cellCount, Math.ceil(Math.max(0, ...points.map((p) => p.thirdQuartile))) + 1)), title: { display: true, text: 'Cell position' } },
      },
    },
  });
}

export function setChartFontSize(size: number): void {
  Chart.defaults.font.size = size;
  for (const chart of charts.values()) chart.update('none');
}

export function destroyCharts(): void {
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}
