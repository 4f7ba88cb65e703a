/**
 * Scoring a model on text: the mean cross-entropy of predicting each next character,
 * in nats, bits (nats / ln 2) and perplexity (e^nats).
 */
import * as tf from '@tensorflow/tfjs';
import { StreamBatcher } from './batches.js';
import type { LstmState } from './lstm.js';
import type { CharModel } from './model.js';

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
 * Characters left over at the end of the streams are not scored.
 */
export function evaluate(model: CharModel, ids: Int32Array, batch: number, seq: number): Score {
  const streams = Math.max(1, Math.min(batch, Math.floor((ids.length - 1) / seq)));
  const windowLength = Math.min(seq, ids.length - 1);
  if (windowLength < 1) throw new RangeError('need at least two characters to score');
  const batcher = new StreamBatcher(ids, streams, windowLength);
  let state: LstmState[] = model.zeroState(streams);
  let totalNats = 0;
  for (let step = 0; step < batcher.stepsPerEpoch; step++) {
    const { inputs, targets } = batcher.get(step);
    let final: LstmState[] = [];
    const loss = tf.tidy(() => {
      const result = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state);
      final = result.final; // kept by the model, so it outlives this tidy
      return result.loss;
    });
    totalNats += loss.dataSync()[0] * inputs.length;
    loss.dispose();
    disposeState(state);
    state = final;
  }
  disposeState(state);
  const chars = batcher.charsPerEpoch;
  return scoreFromNats(totalNats / chars, chars);
}

export function disposeState(state: LstmState[]): void {
  for (const { h, c } of state) {
    h.dispose();
    c.dispose();
  }
}
