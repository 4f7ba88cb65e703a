/**
 * The loss and gradients of one batch of streams: the part of a training step that can
 * be shared out between threads (see data-parallel.ts). Clipping and the Adam update
 * happen once, on the combined gradients.
 */
import * as tf from '../tf.js';
import type { RecurrentState } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';

export interface Gradients {
  /** Mean loss per character, nats. */
  loss: number;
  /** One per model variable, in `model.variables` order. */
  grads: tf.Tensor[];
  /** The carried state after the batch (kept: the caller disposes it). */
  final: RecurrentState[];
}

/** inputs, targets (T*B) time-major ids; state: the cell's (B, H) tensors per layer. */
export function computeGradients(
  model: CharModel,
  state: RecurrentState[],
  inputs: Int32Array,
  targets: Int32Array,
  dropoutSeed: number,
): Gradients {
  let final: RecurrentState[] = [];
  const variables = model.variables;
  const { value, grads } = tf.variableGrads(() => {
    const result = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state, { dropoutSeed });
    final = result.final;
    return result.loss;
  }, variables);
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: variables.map((v) => grads[v.name]), final };
}
