/** `charrnn eval <checkpoint> [file]`: nats/char, bits/char and perplexity; or, with --heatmap/--html, surprisal per character. */
import { resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { readCorpus, type TextEncoding } from '../data/corpus.js';
import { UserError } from '../errors.js';
import { evaluate, scorableIds, validationSplit } from '../scoring/evaluate.js';
import { quoteChars, type Vocabulary } from '../data/vocab.js';
import { announceBackend } from './announce.js';
import { refuseRunFileTarget } from '../checkpoint/run-directory.js';
import { showHeatmap } from './heatmap.js';
import { formatCount, info, out } from './output.js';
import type { EvalCommandOptions } from './commands.js';

export async function evalCommand(checkpointPath: string, file: string | undefined, options: EvalCommandOptions): Promise<void> {
  if (options.json && (options.heatmap || options.html !== undefined))
    throw new UserError('--json cannot be combined with --heatmap or --html');
  if (options.html !== undefined) refuseRunFileTarget(options.html); // before the scoring, not after
  announceBackend(await selectBackend(options.backend));
  const { model, vocab, meta, dir } = loadCheckpoint(checkpointPath);
  try {
    const { ids, label } =
      file === undefined
        ? { ids: validationSplit(meta, vocab), label: `validation split of ${meta.training.corpus.path}` }
        : fileIds(file, vocab, options.encoding);
    if (options.heatmap || options.html !== undefined) {
      showHeatmap(model, vocab, ids, {
        terminal: options.heatmap ?? false,
        html: options.html,
        limit: options.limit,
        label,
        checkpoint: resolve(dir),
      });
      return;
    }
    const { batch, seq } = meta.training.config;
    const score = await evaluate(model, ids, batch, seq);
    if (options.json) {
      out(`${JSON.stringify(score)}\n`);
    } else {
      out(
        `${label}: ${score.nats.toFixed(4)} nats/char, ${score.bits.toFixed(4)} bits/char, ` +
          `perplexity ${score.perplexity.toFixed(3)} (${formatCount(score.chars)} characters)\n`,
      );
    }
  } finally {
    model.dispose();
  }
}

/** A file's text as ids; characters the model never saw are left out and counted. */
function fileIds(file: string, vocab: Vocabulary, encoding: TextEncoding): { ids: Int32Array; label: string } {
  const { ids, skipped, unknown } = scorableIds(vocab, readCorpus(file, encoding).text, file);
  if (skipped) info(`skipped ${formatCount(skipped)} characters the model never saw: ${quoteChars(unknown, 10)}`);
  return { ids, label: file };
}
