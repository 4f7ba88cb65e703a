/** `charrnn eval <checkpoint> [file]`: nats/char, bits/char and perplexity; or, with --heatmap/--html, surprisal per character. */
import { resolve } from 'node:path';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { loadCheckpoint, type CheckpointMeta } from '../checkpoint/checkpoint.js';
import { readCorpus, splitIds, type TextEncoding } from '../data/corpus.js';
import { CorpusError, UserError } from '../errors.js';
import { evaluate } from '../scoring/evaluate.js';
import { quoteChars, type Vocabulary } from '../data/vocab.js';
import { announceBackend } from './announce.js';
import { showHeatmap } from './heatmap.js';
import { formatCount, info } from './output.js';

export interface EvalCommandOptions {
  json?: boolean;
  /** Show the text coloured by surprisal (heatmap.ts). */
  heatmap?: boolean;
  /** Write the heatmap as a self-contained HTML page here. */
  html?: string;
  /** Heatmap: characters shown, from the start. */
  limit: number;
  encoding: TextEncoding;
  backend: BackendChoice;
}

export async function evalCommand(checkpointPath: string, file: string | undefined, options: EvalCommandOptions): Promise<void> {
  if (options.json && (options.heatmap || options.html !== undefined)) throw new UserError('--json cannot be combined with --heatmap or --html');
  announceBackend(await selectBackend(options.backend));
  const { model, vocab, meta, dir } = loadCheckpoint(checkpointPath);
  try {
    const { ids, label } = file === undefined ? validationSplit(meta, vocab) : fileIds(file, vocab, options.encoding);
    if (options.heatmap || options.html !== undefined) {
      showHeatmap(model, vocab, ids, { terminal: options.heatmap ?? false, html: options.html, limit: options.limit, label, checkpoint: resolve(dir) });
      return;
    }
    const { batch, seq } = meta.training.config;
    const score = evaluate(model, ids, batch, seq);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(score)}\n`);
    } else {
      process.stdout.write(
        `${label}: ${score.nats.toFixed(4)} nats/char, ${score.bits.toFixed(4)} bits/char, perplexity ${score.perplexity.toFixed(3)} (${formatCount(score.chars)} characters)\n`,
      );
    }
  } finally {
    model.dispose();
  }
}

/** The held-out tail of the corpus the checkpoint was trained on, if that file is unchanged. */
function validationSplit(meta: CheckpointMeta, vocab: Vocabulary): { ids: Int32Array; label: string } {
  const { corpus, config } = meta.training;
  let text: string;
  try {
    const current = readCorpus(corpus.path, corpus.encoding);
    if (current.fingerprint !== corpus.fingerprint) throw new CorpusError(`${corpus.path} has changed since training`);
    text = current.text;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CorpusError(`cannot score the validation split (${why}); give a text file to score: charrnn eval <checkpoint> <file>`);
  }
  const { val } = splitIds(vocab.encode(text), config.valFrac);
  return { ids: val, label: `validation split of ${corpus.path}` };
}

/** A file's text as ids; characters the model never saw are left out and counted. */
function fileIds(file: string, vocab: Vocabulary, encoding: TextEncoding): { ids: Int32Array; label: string } {
  const { text } = readCorpus(file, encoding);
  const unknown = vocab.unknownChars(text);
  let known = text;
  if (unknown.length) {
    const chars = [...text]; // code points, once
    const kept = chars.filter((ch) => vocab.has(ch));
    known = kept.join('');
    const skipped = chars.length - kept.length;
    info(`skipped ${formatCount(skipped)} characters the model never saw: ${quoteChars(unknown, 10)}`);
  }
  const ids = vocab.encode(known);
  if (ids.length < 2) throw new CorpusError(`${file} has fewer than two characters the model knows; nothing to score`);
  return { ids, label: file };
}
