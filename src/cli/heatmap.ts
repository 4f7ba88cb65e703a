/**
 * `charrnn eval --heatmap` / `--html`: a text with each character coloured by how
 * surprised the model was, drawn by render/heatmap.ts.
 */
import type { CharModel } from '../model/model.js';
import { renderExtremes, renderHtml, renderTerminal, terminalLegend } from '../render/heatmap.js';
import { meanBits, surprisal } from '../scoring/surprisal.js';
import type { Vocabulary } from '../data/vocab.js';
import { formatCount, info, out, paintStdout, writeOutputFile } from './output.js';

export interface HeatmapOptions {
  /** Draw on stdout (terminal colours, or digit lines without colour). */
  terminal: boolean;
  /** Also write a self-contained HTML page here. */
  html?: string;
  /** Characters to show, from the start of the text. */
  limit: number;
  /** What the text is, for titles: a file name, or "validation split of …". */
  label: string;
  checkpoint: string;
}

/** Computes the surprisal of the first `limit` characters of the text `ids` and shows it as asked. */
export function showHeatmap(model: CharModel, vocab: Vocabulary, ids: Int32Array, options: HeatmapOptions): void {
  const limited = ids.length > options.limit ? `the first ${formatCount(options.limit)} of ${formatCount(ids.length)} characters` : null;
  if (limited) info(`heatmap of ${limited} (--limit to change)`);
  const chars = surprisal(model, vocab, vocab.decode(ids.subarray(0, options.limit)));
  const scored = `${meanBits(chars).toFixed(3)} bits/char over ${formatCount(chars.length - 1)} predictions`;
  const summary = `${options.label}${limited ? `, ${limited}` : ''}: ${scored}`;
  if (options.terminal) {
    const columns = process.stdout.columns || Number(process.env.COLUMNS) || 80;
    out(renderTerminal(chars, { chalk: paintStdout, columns }));
    out(`\n${terminalLegend(paintStdout)}\n${summary}\n\n${renderExtremes(chars, paintStdout)}`);
  }
  if (options.html !== undefined) {
    writeOutputFile(
      options.html,
      renderHtml(chars, { title: `${options.label} — charrnn surprisal`, summary, checkpoint: options.checkpoint }),
    );
    info(`wrote ${options.html}`);
  }
}
