/** `charrnn info <checkpoint>`: what a checkpoint holds and how it was trained, on stdout. */
import { resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint, type CheckpointMeta } from '../checkpoint/checkpoint.js';
import { sparkline } from '../render/sparkline.js';
import { formatCount, formatDuration, out } from './output.js';
import type { InfoCommandOptions } from './commands.js';

/** Everything `info` shows; `--json` prints this object. */
export interface CheckpointInfo {
  checkpoint: string;
  formatVersion: number;
  model: CheckpointMeta['model'];
  parameters: number;
  /** The characters, in id order. */
  vocab: string[];
  /** How often each occurs in the training corpus, in id order (null for older checkpoints). */
  counts: number[] | null;
  training: {
    steps: number;
    epochs: number;
    seconds: number;
    backend: string;
    bestValLoss: number | null;
    lastValLoss: number | null;
    config: CheckpointMeta['training']['config'];
  };
  corpus: CheckpointMeta['training']['corpus'];
  valLossHistory: { step: number; valLoss: number }[];
  sparkline: string;
}

export async function infoCommand(checkpointPath: string, options: InfoCommandOptions): Promise<void> {
  await selectBackend('cpu'); // the weights are only loaded to be checked and counted
  const { dir, model, meta } = loadCheckpoint(checkpointPath);
  const parameters = model.parameterCount;
  model.dispose();
  const report = checkpointInfo(resolve(dir), meta, parameters);
  out(options.json ? `${JSON.stringify(report)}\n` : formatInfo(report));
}

export function checkpointInfo(checkpoint: string, meta: CheckpointMeta, parameters: number): CheckpointInfo {
  const t = meta.training;
  const valLossHistory = (t.history ?? []).flatMap((h) => (typeof h.valLoss === 'number' ? [{ step: h.step, valLoss: h.valLoss }] : []));
  return {
    checkpoint,
    formatVersion: meta.formatVersion,
    model: meta.model,
    parameters,
    vocab: meta.vocab,
    counts: t.corpus.counts ?? null,
    training: {
      steps: t.step,
      epochs: t.epoch,
      seconds: t.seconds,
      backend: t.backend,
      bestValLoss: t.bestValLoss,
      lastValLoss: t.valLoss,
      config: t.config,
    },
    corpus: t.corpus,
    valLossHistory,
    sparkline: sparkline(valLossHistory.map((h) => h.valLoss)),
  };
}

export function formatInfo(r: CheckpointInfo): string {
  const { model: m, training: t, corpus: c } = r;
  const lines: [string, string][] = [
    ['checkpoint', r.checkpoint],
    [
      'model',
      `${m.layers}×${m.hidden} ${m.cell.toUpperCase()}${m.learnedInit ? ' (learned initial state)' : ''}, ` +
        `dropout ${m.dropout}, ${formatCount(r.parameters)} parameters`,
    ],
    ['vocabulary', `${r.vocab.length} characters (␣ is a space)${r.counts ? ', with how often each occurs' : ''}:`],
    ...wrap(
      r.vocab.map((ch, id) => (r.counts ? `${visibleChar(ch)} ${formatCount(r.counts[id])}` : visibleChar(ch))),
      r.counts ? 72 : 64,
      r.counts ? '   ' : ' ',
    ).map((line): [string, string] => ['', line]),
    ['trained', `${formatCount(t.steps)} steps, ${t.epochs.toFixed(2)} epochs in ${formatDuration(t.seconds)} on ${t.backend}`],
    [
      'settings',
      `seq ${t.config.seq}, batch ${t.config.batch}, lr ${t.config.lr}, lr-decay ${t.config.lrDecay}, ` +
        `clip ${t.config.clip}, val-frac ${t.config.valFrac}, seed ${t.config.seed}`,
    ],
    ['val loss', `best ${nats(t.bestValLoss)}, last ${nats(t.lastValLoss)}`],
    ['history', history(r)],
    [
      'corpus',
      `${c.path} (${c.encoding}, ${formatCount(c.bytes)} bytes, ${formatCount(c.chars)} characters), sha256 ${c.fingerprint.slice(0, 12)}`,
    ],
  ];
  return lines.map(([label, text]) => `${label.padEnd(12)}${text}\n`).join('');
}

function nats(loss: number | null): string {
  return loss === null ? 'none' : `${loss.toFixed(4)} nats/char (${(loss / Math.LN2).toFixed(3)} bits)`;
}

function history(r: CheckpointInfo): string {
  const h = r.valLossHistory;
  if (h.length === 0) return 'no validations';
  const first = h[0];
  const last = h[h.length - 1];
  const span = `over steps ${first.step}–${last.step} (${h.length} validation${h.length === 1 ? '' : 's'})`;
  return `${r.sparkline}  ${first.valLoss.toFixed(3)} → ${last.valLoss.toFixed(3)} ${span}`;
}

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', ' ': '␣', '\\': '\\\\', '␣': '\\u{2423}' };

/** A character as it can be seen: escapes for \n \r \t and \\, ␣ for a space, \u{…} for other invisible ones. */
export function visibleChar(ch: string): string {
  if (NAMED[ch] !== undefined) return NAMED[ch];
  if (/^[\p{C}\p{Z}\p{M}]$/u.test(ch)) return `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`;
  return ch;
}

/** Space-separated items in lines of at most `width` characters. */
function wrap(items: string[], width: number, gap = ' '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && [...line].length + gap.length + [...item].length > width) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line}${gap}${item}` : item;
  }
  if (line) lines.push(line);
  return lines;
}
