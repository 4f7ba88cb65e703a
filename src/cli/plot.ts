/**
 * `charrnn plot <run-dir>`: training and validation loss against step, from the run's
 * metrics.jsonl (or, for runs from before it existed, the checkpoint's history), drawn
 * by render/loss-chart.ts: in the terminal, a chart that fits the width (stdout's, else
 * stderr's, else $COLUMNS, else 80), in colour on a colour terminal; --svg writes an SVG
 * image, --png the same as PNG.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readCheckpointMeta, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { UserError } from '../errors.js';
import { METRICS_FILE, readMetrics } from '../checkpoint/metrics.js';
import { lossChartSvg, svgToPng, terminalChart, type LossCurves, type Point } from '../render/loss-chart.js';
import { info, out, paintStdout, writeOutputFile } from './output.js';
import type { PlotCommandOptions } from './commands.js';

export async function plotCommand(runDir: string, options: PlotCommandOptions): Promise<void> {
  const curves = readLossCurves(runDir);
  const title = `loss by step: ${basename(resolve(runDir))}`;
  if (options.svg === undefined && options.png === undefined) {
    const columns = process.stdout.columns || process.stderr.columns || Number(process.env.COLUMNS) || 80;
    out(terminalChart(curves, { columns, colour: paintStdout.level > 0 }));
    return;
  }
  const svg = lossChartSvg(curves, title);
  if (options.svg !== undefined) {
    writeOutputFile(options.svg, svg);
    info(`wrote ${options.svg} (${curves.source})`);
  }
  if (options.png !== undefined) {
    writeOutputFile(options.png, await svgToPng(svg));
    info(`wrote ${options.png} (${curves.source})`);
  }
}

/**
 * A run directory's losses: metrics.jsonl (every step), else the latest checkpoint's
 * history (one point per validation). A checkpoint directory means its run directory.
 */
export function readLossCurves(runDir: string): LossCurves {
  if (!existsSync(runDir)) throw new UserError(`${runDir}: no such run directory`, 4);
  const dir = existsSync(join(runDir, 'model.json')) ? dirname(runDir) : runDir;
  const metricsPath = join(dir, METRICS_FILE);
  const records = readMetrics(metricsPath);
  if (records.length > 0) {
    return {
      source: metricsPath,
      train: records.filter((r) => Number.isFinite(r.trainLoss)).map((r) => [r.step, r.trainLoss]),
      val: records.flatMap((r): Point[] => (typeof r.valLoss === 'number' ? [[r.step, r.valLoss]] : [])),
    };
  }
  const isCheckpoint = dir !== runDir;
  // latest holds the longest history
  const checkpoint = isCheckpoint && !existsSync(join(dir, 'latest', 'model.json')) ? runDir : resolveCheckpointDir(dir, 'latest');
  const history = readCheckpointMeta(checkpoint).training.history ?? [];
  if (history.length === 0) throw new UserError(`${runDir} has no ${METRICS_FILE} and its checkpoint has no loss history yet`, 4);
  return {
    source: `history in ${checkpoint}`,
    train: history.flatMap((h): Point[] => (typeof h.trainLoss === 'number' ? [[h.step, h.trainLoss]] : [])),
    val: history.flatMap((h): Point[] => (typeof h.valLoss === 'number' ? [[h.step, h.valLoss]] : [])),
  };
}
