/**
 * Scoring a model on text: the mean cross-entropy of predicting each next character,
 * in nats, bits (nats / ln 2) and perplexity (e^nats).
 */
import * as tf from '../tf.js';
import type { CheckpointMeta } from '../checkpoint/checkpoint.js';
import { StreamBatcher, type Batch } from '../data/batches.js';
import { splitIds } from '../data/corpus.js';
import { reopenCorpus } from '../data/sources.js';
import type { Vocabulary } from '../data/vocab.js';
import { CorpusError } from '../errors.js';
import { disposeState, type RecurrentState } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';

export interface Score {
  nats: number;
  bits: number;
  perplexity: number;
  /** Characters predicted (scored). */
  chars: number;
}

export function scoreFromNats(nats: number, chars: number): Score {
  return { nats, bits: nats / Math.LN2, perplexity: Math.exp(nats), chars };
}

/** How long scoring runs between looks at the event loop, so a signal is handled promptly. */
const YIELD_EVERY_MS = 100;

/**
 * Runs the model over `ids` cut into at most `batch` contiguous streams, state carried
 * from window to window as in training, and averages the loss over every prediction.
 * The few characters after the last stream (fewer than `batch`) follow it in the text:
 * they are scored last, from its final state, so every character but the first is predicted;
 * unless `scoreTail` is false, as in training's periodic validation, whose losses must stay
 * comparable with the best ones that runs written before recorded (resume picks the best by them).
 * Aborting `signal` stops scoring between windows and rejects with its reason.
 */
export async function evaluate(
  model: CharModel,
  ids: Int32Array,
  batch: number,
  seq: number,
  signal?: AbortSignal,
  { scoreTail = true } = {},
): Promise<Score> {
  if (ids.length < 2) throw new RangeError('need at least two characters to score');
  const { streams, windows, tailStart } = scoringWindows(ids, batch, seq);
  let state: RecurrentState[] = model.initialState(streams);
  let totalNats = 0;
  let chars = 0;
  const score = (inputs: Int32Array, targets: Int32Array, from: RecurrentState[]): RecurrentState[] => {
    const { nats, final } = windowNats(model, inputs, targets, from);
    totalNats += nats;
    chars += inputs.length;
    disposeState(from);
    return final;
  };
  let lastYield = performance.now();
  for (const { inputs, targets } of windows) {
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
      if (signal?.aborted) {
        disposeState(state);
        signal.throwIfAborted();
      }
    }
    state = score(inputs, targets, state);
  }
  if (scoreTail && tailStart < ids.length - 1) {
    const lastStream = state.map((layer) => layer.map((t) => tf.slice(t, [streams - 1, 0], [1, -1]) as tf.Tensor2D)); // (1, H) each
    disposeState(state);
    state = score(ids.subarray(tailStart, ids.length - 1), ids.subarray(tailStart + 1), lastStream);
  }
  disposeState(state);
  return scoreFromNats(totalNats / chars, chars);
}

/**
 * `ids` cut into `streams` (at most `batch`) streams, scored window by window: windows of
 * `seq` steps (fewer if the text is short), then the streams' remainder. What follows the
 * last stream, from `tailStart`, no window covers.
 */
function scoringWindows(ids: Int32Array, batch: number, seq: number): { streams: number; windows: Batch[]; tailStart: number } {
  const streams = Math.max(1, Math.min(batch, Math.floor((ids.length - 1) / seq)));
  const batcher = new StreamBatcher(ids, streams, Math.min(seq, Math.floor((ids.length - 1) / streams)));
  const windows = Array.from({ length: batcher.stepsPerEpoch }, (_, step) => batcher.get(step));
  if (batcher.remainder > 0) windows.push(batcher.get(batcher.stepsPerEpoch, batcher.remainder));
  return { streams, windows, tailStart: streams * batcher.streamLength };
}

/** Total nats of predicting `targets` from `inputs` (T*B, time-major) from `state`, and the state after them. */
function windowNats(
  model: CharModel,
  inputs: Int32Array,
  targets: Int32Array,
  state: RecurrentState[],
): { nats: number; final: RecurrentState[] } {
  let final: RecurrentState[] = [];
  const loss = tf.tidy(() => {
    const result = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state);
    final = result.final; // kept by the model, so it outlives this tidy
    return result.loss;
  });
  const nats = loss.dataSync()[0] * inputs.length;
  loss.dispose();
  return { nats, final };
}

/**
 * The held-out tail of the corpus a checkpoint (`meta`) was trained on, as ids, if that
 * file is still there and unchanged.
 */
export function validationSplit(meta: CheckpointMeta, vocab: Vocabulary): Int32Array {
  const { corpus, config } = meta.training;
  let text: string;
  try {
    const current = reopenCorpus(corpus);
    if (current.fingerprint !== corpus.fingerprint) throw new CorpusError(`${corpus.path} has changed since training`);
    text = current.text;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CorpusError(`cannot score the validation split (${why}); give a text file to score: charrnn eval <checkpoint> <file>`);
  }
  return splitIds(vocab.encode(text), config.valFrac).val;
}

/**
 * `text` (from `label`, for messages) as ids to score: characters the model never saw
 * are left out, and returned with how many there were.
 */
export function scorableIds(vocab: Vocabulary, text: string, label: string): { ids: Int32Array; skipped: number; unknown: string[] } {
  const unknown = vocab.unknownChars(text);
  let known = text;
  let skipped = 0;
  if (unknown.length) {
    const chars = [...text]; // code points, once
    const kept = chars.filter((ch) => vocab.has(ch));
    known = kept.join('');
    skipped = chars.length - kept.length;
  }
  const ids = vocab.encode(known);
  if (ids.length < 2) throw new CorpusError(`${label} has fewer than two characters the model knows; nothing to score`);
  return { ids, skipped, unknown };
}
