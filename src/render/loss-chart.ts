/**
 * Loss curves (training and validation loss against step) drawn as strings and bytes:
 * a terminal chart with asciichart that fits a width, train loss a solid line and
 * validation loss a dashed one (each in its own colour if asked); an SVG image
 * (svg-chart.ts); and that SVG as PNG, rendered with resvg (WebAssembly, no native code).
 */
import asciichart from 'asciichart';
import { Chalk } from 'chalk';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { formatCount } from './numbers.js';
import { lineChartSvg } from './svg-chart.js';

export type Point = [step: number, loss: number];

export interface LossCurves {
  /** Where the numbers came from. */
  source: string;
  train: Point[];
  val: Point[];
}

// ---------------------------------------------------------------- terminal

const CHART_ROWS = 12;
type Symbols = [string, string, string, string, string, string, string, string, string, string];
const VAL_SYMBOLS: Symbols = ['┼', '┤', '╶', '╴', '┄', '╰', '╭', '╮', '╯', '┆']; // asciichart's, with dashed straights

/** The chart as lines of at most `columns` characters (not counting colour codes). */
export function terminalChart(curves: LossCurves, { columns, colour }: { columns: number; colour: boolean }): string {
  const { train, val } = curves;
  const line = train.length ? train : val;
  const [first, last] = [line[0][0], line[line.length - 1][0]];
  const values = [...train, ...val].map((p) => p[1]);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const labelWidth = Math.max(min.toFixed(2).length, max.toFixed(2).length);
  // A row is the label, then point 0 on the axis and point c in the c-th cell after it: labelWidth + width
  // characters, one column spare so a terminal never wraps.
  const width = Math.max(10, columns - labelWidth - 1);
  const stepAt = (c: number) => (width === 1 || first === last ? first : first + ((last - first) * c) / (width - 1));
  const trainCols = resample(train, width, stepAt);
  const valCols = resample(val, width, stepAt);
  const config = { min, max, height: CHART_ROWS, offset: 2, format: (x: number) => x.toFixed(2).padStart(labelWidth) };
  const trainGrid = grid(trainCols.some((v) => v !== null) ? trainCols : valCols, config, undefined, labelWidth);
  const valGrid = valCols.some((v) => v !== null) ? grid(valCols, config, VAL_SYMBOLS, labelWidth) : null;

  const paint = new Chalk({ level: colour ? 1 : 0 });
  const trainColour = colour ? paint.cyan : (s: string) => s;
  const valColour = colour ? paint.yellow : (s: string) => s;
  const rows = trainGrid.map((cells, r) => {
    let row = cells[0] + cells[1]; // label and axis
    for (let c = 2; c < cells.length; c++) {
      const v = valGrid?.[r][c] ?? ' ';
      // Cell c draws the segment from column c-2 to c-1: only where validation was measured at both ends.
      const valHere = valGrid !== null && v !== ' ' && valCols[c - 2] !== null && valCols[c - 1] != null;
      row += valHere ? valColour(v) : cells[c] === ' ' ? ' ' : trainColour(cells[c]);
    }
    return row.trimEnd();
  });

  const [axis, tickLine] = stepAxis(labelWidth, width, [first, last], stepAt);
  const legend = `${trainColour('──')} train loss   ${valColour('┄┄')} validation loss   (nats/char by step)`;
  const fit = (s: string) => (visibleLength(s) > columns - 1 ? clip(s, columns - 1) : s);
  // A long path loses its start, not the file's name.
  const from = 'loss by step, from ';
  const title = fit(`${from}${clipStart(curves.source, columns - 1 - from.length)}`);
  return `${[title, ...rows, axis, fit(tickLine), fit(legend)].join('\n')}\n`;
}

/** The step axis under the chart, and its labels: the first step, the one at the middle column (`stepAt`), the last. */
function stepAxis(labelWidth: number, width: number, [first, last]: [number, number], stepAt: (c: number) => number): [string, string] {
  const pad = ' '.repeat(labelWidth);
  const axis = `${pad}└${'─'.repeat(width - 1)}`;
  const from = formatCount(first);
  const to = formatCount(last);
  const middle = Math.floor((width - 1) / 2);
  const mid = formatCount(Math.round(stepAt(middle)));
  const ticks = `${pad}${from}`.padEnd(labelWidth + middle - Math.floor(mid.length / 2)) + mid;
  return [axis, `${ticks.padEnd(labelWidth + width - to.length)}${to}`];
}

interface GridConfig {
  min: number;
  max: number;
  height: number;
  offset: number;
  format: (x: number) => string;
}

/** asciichart's plot of one series (nulls filled from their neighbours; the caller masks them), as rows of cells: [label, axis, …]. */
function grid(series: (number | null)[], config: GridConfig, symbols: Symbols | undefined, labelWidth: number): string[][] {
  const filled = fillGaps(series);
  const text = asciichart.plot(filled, symbols ? { ...config, symbols } : config);
  return text.split('\n').map((row) => [row.slice(0, labelWidth), ...row.slice(labelWidth).padEnd(filled.length + 1)]);
}

/**
 * The series at `width` evenly spaced steps: the mean of the points within each column,
 * or, where a column has none, the straight line between its neighbours; null outside
 * the series' range.
 */
function resample(points: readonly Point[], width: number, stepAt: (c: number) => number): (number | null)[] {
  if (points.length === 0) return new Array<number | null>(width).fill(null);
  const half = width > 1 ? (stepAt(1) - stepAt(0)) / 2 : Infinity;
  let k = 0;
  return Array.from({ length: width }, (_, c) => {
    const s = stepAt(c);
    if (s < points[0][0] - half || s > points[points.length - 1][0] + half) return null;
    while (k < points.length && points[k][0] < s - half) k++;
    let sum = 0;
    let n = 0;
    for (let j = k; j < points.length && points[j][0] < s + half; j++, n++) sum += points[j][1];
    if (n > 0) return sum / n;
    const after = Math.min(k, points.length - 1);
    const before = Math.max(0, after - 1);
    const [[x0, y0], [x1, y1]] = [points[before], points[after]];
    return x1 === x0 ? y0 : y0 + ((y1 - y0) * (s - x0)) / (x1 - x0);
  });
}

function fillGaps(series: (number | null)[]): number[] {
  const firstKnown = series.find((v) => v !== null) ?? 0;
  let previous = firstKnown;
  return series.map((v) => (v === null ? previous : (previous = v)));
}

const ANSI = /\x1b\[[0-9;]*m/g;

function visibleLength(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

function clip(s: string, width: number): string {
  const plain = s.replace(ANSI, '');
  return `${[...plain].slice(0, width - 1).join('')}…`;
}

/** Plain text cut to `width` characters from its end, marked with … (unchanged if it fits, or if width leaves no room). */
function clipStart(plain: string, width: number): string {
  const chars = [...plain];
  return chars.length <= width || width < 2 ? plain : `…${chars.slice(-(width - 1)).join('')}`;
}

// ---------------------------------------------------------------- images

export function lossChartSvg(curves: LossCurves, title: string): string {
  return lineChartSvg({
    title,
    xTitle: 'step',
    yTitle: 'loss (nats/char)',
    series: [
      { name: 'train loss (each step)', colour: '#4a90d9', points: curves.train, width: 1, opacity: 0.8 },
      { name: 'validation loss', colour: '#e8590c', points: curves.val, markers: true, width: 2 },
    ].filter((s) => s.points.length > 0),
  });
}

/** Renders an SVG to PNG (at twice its size) with resvg's WebAssembly build and a TrueType font found on this machine. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const font = findFont();
  if (font === null) {
    throw new UserError(
      '--png needs a TrueType font for the labels and found none ' +
        '(on Debian or Ubuntu: apt-get install fonts-dejavu-core); --svg needs none',
    );
  }
  const { initWasm, Resvg } = await import('@resvg/resvg-wasm');
  const require = createRequire(import.meta.url);
  await initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  // resvg falls back to a loaded font when a family is not found, so one font file is enough.
  const bold = font.replace(/(-Regular)?(\.\w+)$/, '-Bold$2'); // DejaVuSans-Bold.ttf, LiberationSans-Bold.ttf: for the title
  const fontBuffers = [font, ...(bold !== font && existsSync(bold) ? [bold] : [])].map((f) => readFileSync(f));
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { fontBuffers } });
  try {
    const image = resvg.render();
    const png = image.asPng();
    image.free();
    return png;
  } finally {
    resvg.free();
  }
}

const FONT_DIRS = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  join(homedir(), '.local/share/fonts'),
  join(homedir(), '.fonts'),
  '/Library/Fonts',
  '/System/Library/Fonts',
  'C:\\Windows\\Fonts',
];
const PREFERRED = [
  'DejaVuSans.ttf',
  'LiberationSans-Regular.ttf',
  'Arial.ttf',
  'arial.ttf',
  'NotoSans-Regular.ttf',
  'FreeSans.ttf',
  'Helvetica.ttc',
];

/** A sans-serif TrueType font file: a well-known one if present, else the first .ttf/.otf found. */
function findFont(): string | null {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory() && depth < 4) walk(path, depth + 1);
      else if (/\.(ttf|otf|ttc)$/i.test(e.name)) found.push(path);
    }
  };
  for (const dir of FONT_DIRS) walk(dir, 0);
  for (const name of PREFERRED) {
    const hit = found.find((p) => basename(p) === name);
    if (hit) return hit;
  }
  return found.find((p) => /sans/i.test(basename(p)) && !/mono|bold|italic|oblique/i.test(basename(p))) ?? found[0] ?? null;
}
