/**
 * Scoring a model on text: the mean cross-entropy of predicting each next character,
 * in nats, bits (nats / ln 2) and perplexity (e^nats).
 */
import * as tf from '../tf.js';
import { StreamBatcher } from '../data/batches.js';
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

/**
 * Runs the model over `ids` cut into at most `batch` contiguous streams, state carried
 * from window to window as in training, and averages the loss over every prediction.
 * Only the last few characters that do not fill a stream (fewer than `batch`) go unscored.
 */
export function evaluate(model: CharModel, ids: Int32Array, batch: number, seq: number): Score {
  if (ids.length < 2) throw new RangeError('need at least two characters to score');
  const streams = Math.max(1, Math.min(batch, Math.floor((ids.length - 1) / seq)));
  const batcher = new StreamBatcher(ids, streams, Math.min(seq, Math.floor((ids.length - 1) / streams)));
  const windows = Array.from({ length: batcher.stepsPerEpoch }, (_, step) => batcher.get(step));
  if (batcher.remainder > 0) windows.push(batcher.get(batcher.stepsPerEpoch, batcher.remainder));

  let state: RecurrentState[] = model.initialState(streams);
  let totalNats = 0;
  let chars = 0;
  for (const { inputs, targets } of windows) {
    let final: RecurrentState[] = [];
    const loss = tf.tidy(() => {
      const result = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state);
      final = result.final; // kept by the model, so it outlives this tidy
      return result.loss;
    });
    totalNats += loss.dataSync()[0] * inputs.length;
    chars += inputs.length;
    loss.dispose();
    disposeState(state);
    state = final;
  }
  disposeState(state);
  return scoreFromNats(totalNats / chars, chars);
}
