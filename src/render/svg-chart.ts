/**
 * A line chart as a standalone SVG: axes with "nice" ticks and labels, axis titles, a
 * legend, and one <polyline> per series with one vertex per data point. Small and
 * hand-written: the charting libraries that draw SVG either need a DOM (chartist, d3's
 * axes) or are far larger than this (vega). Text uses generic font families, so any
 * renderer can draw it (see plot.ts for PNG).
 */

export interface Series {
  name: string;
  /** CSS colour. */
  colour: string;
  points: readonly (readonly [number, number])[];
  /** Also draw a dot on each point (for sparse series such as validation loss). */
  markers?: boolean;
  /** Line width in pixels (default 1.5). */
  width?: number;
  opacity?: number;
}

export interface ChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  series: readonly Series[];
  width?: number;
  height?: number;
}

const MARGIN = { left: 72, right: 24, top: 44, bottom: 58 };
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

export function lineChartSvg(options: ChartOptions): string {
  const frame = chartFrame(options);
  const { width, height } = frame;
  const title = escapeXml(options.title);
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${title}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT} fill="#222">${title}</text>`,
    ...gridSvg(frame),
    ...xAxisSvg(frame, options.xTitle),
    ...yAxisSvg(frame, options.yTitle),
    ...options.series.flatMap((s) => seriesSvg(frame, s)),
    ...legendSvg(frame, options.series),
    '</svg>',
  ].join('\n')}\n`;
}

/** The chart's size, its plot area in pixels, the ticks of both axes, and data → pixel scales. */
interface Frame {
  width: number;
  height: number;
  plot: { x0: number; x1: number; y0: number; y1: number };
  xTicks: number[];
  yTicks: number[];
  sx: (x: number) => number;
  sy: (y: number) => number;
}

/** Axes that cover every point, from the first tick to the last. */
function chartFrame(options: ChartOptions): Frame {
  const width = options.width ?? 800;
  const height = options.height ?? 480;
  const all = options.series.flatMap((s) => s.points);
  if (all.length === 0) throw new RangeError('nothing to draw');
  const xTicks = niceTicks(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])), 8);
  const yTicks = niceTicks(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])), 6);
  const plot = { x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top };
  const [xMin, xMax] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [yMin, yMax] = [yTicks[0], yTicks[yTicks.length - 1]];
  const sx = (x: number) => plot.x0 + ((x - xMin) / (xMax - xMin || 1)) * (plot.x1 - plot.x0);
  const sy = (y: number) => plot.y0 - ((y - yMin) / (yMax - yMin || 1)) * (plot.y0 - plot.y1);
  return { width, height, plot, xTicks, yTicks, sx, sy };
}

/** A coordinate with at most two decimals. */
const f = (n: number) => Number(n.toFixed(2)).toString();

function gridSvg({ plot, xTicks, yTicks, sx, sy }: Frame): string[] {
  return [
    '<g class="grid" stroke="#e6e6e6" stroke-width="1">',
    ...xTicks.map((t) => `<line x1="${f(sx(t))}" y1="${plot.y1}" x2="${f(sx(t))}" y2="${plot.y0}"/>`),
    ...yTicks.map((t) => `<line x1="${plot.x0}" y1="${f(sy(t))}" x2="${plot.x1}" y2="${f(sy(t))}"/>`),
    '</g>',
  ];
}

function xAxisSvg({ height, plot, xTicks, sx }: Frame, title: string): string[] {
  const ticks = xTicks.flatMap((t) => [
    `<line x1="${f(sx(t))}" y1="${plot.y0}" x2="${f(sx(t))}" y2="${plot.y0 + 5}" stroke="#333"/>`,
    `<text class="tick-label" x="${f(sx(t))}" y="${plot.y0 + 19}" text-anchor="middle">${formatTick(t, xTicks)}</text>`,
  ]);
  const x = (plot.x0 + plot.x1) / 2;
  return [
    `<g class="x-axis" ${FONT} font-size="12" fill="#333">`,
    `<line x1="${plot.x0}" y1="${plot.y0}" x2="${plot.x1}" y2="${plot.y0}" stroke="#333"/>`,
    ...ticks,
    `<text class="axis-title" x="${x}" y="${height - 14}" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    '</g>',
  ];
}

function yAxisSvg({ plot, yTicks, sy }: Frame, title: string): string[] {
  const ticks = yTicks.flatMap((t) => [
    `<line x1="${plot.x0 - 5}" y1="${f(sy(t))}" x2="${plot.x0}" y2="${f(sy(t))}" stroke="#333"/>`,
    `<text class="tick-label" x="${plot.x0 - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${formatTick(t, yTicks)}</text>`,
  ]);
  const yMid = (plot.y0 + plot.y1) / 2;
  const rotated = `text-anchor="middle" font-size="13" transform="rotate(-90 18 ${yMid})"`;
  return [
    `<g class="y-axis" ${FONT} font-size="12" fill="#333">`,
    `<line x1="${plot.x0}" y1="${plot.y0}" x2="${plot.x0}" y2="${plot.y1}" stroke="#333"/>`,
    ...ticks,
    `<text class="axis-title" x="18" y="${yMid}" ${rotated}>${escapeXml(title)}</text>`,
    '</g>',
  ];
}

/** One series as a polyline, with a dot on each point if it asks for markers. */
function seriesSvg({ sx, sy }: Frame, s: Series): string[] {
  const points = s.points.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ');
  const opacity = s.opacity === undefined ? '' : ` stroke-opacity="${s.opacity}"`;
  const stroke = `stroke="${s.colour}" stroke-width="${s.width ?? 1.5}" stroke-linejoin="round"${opacity}`;
  const line = `<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" ${stroke} points="${points}"/>`;
  if (!s.markers) return [line];
  return [line, `<g fill="${s.colour}">${s.points.map(([x, y]) => `<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3"/>`).join('')}</g>`];
}

/** The series' names and colours, top right inside the plot. */
function legendSvg({ plot }: Frame, series: readonly Series[]): string[] {
  const rowHeight = 18;
  const legendWidth = 18 + 8 + 6.9 * Math.max(...series.map((s) => s.name.length)) + 16;
  const lx = plot.x1 - legendWidth - 8;
  const ly = plot.y1 + 8;
  const box = `x="${f(lx)}" y="${ly}" width="${f(legendWidth)}" height="${series.length * rowHeight + 10}"`;
  const rows = series.flatMap((s, k) => {
    const y = ly + 14 + k * rowHeight;
    return [
      `<line x1="${f(lx + 8)}" y1="${y - 4}" x2="${f(lx + 26)}" y2="${y - 4}" stroke="${s.colour}" stroke-width="3"/>`,
      `<text x="${f(lx + 32)}" y="${y}">${escapeXml(s.name)}</text>`,
    ];
  });
  return [
    `<g class="legend" ${FONT} font-size="12" fill="#222">`,
    `<rect ${box} fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>`,
    ...rows,
    '</g>',
  ];
}

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    [min, max] = [min - pad, max + pad];
  }
  const rough = (max - min) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const first = Math.floor(min / step);
  const last = Math.ceil(max / step);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

function formatTick(t: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const text = t.toFixed(step % 1 === 0 ? 0 : Math.max(decimals, String(step).split('.')[1]?.length ?? 0));
  return Math.abs(t) >= 10000 && step % 1 === 0 ? Number(t).toLocaleString('en-US') : text;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
