/**
 * The training loss: mean softmax cross-entropy, nats per row, of logits (R, V) against
 * target ids (R). On wasm with the fused kernels, one kernel each way (wasm/cross-entropy.ts);
 * elsewhere (and with useFusedLayers(false)) tfjs's softmaxCrossEntropy on one-hot labels.
 */
import * as tf from '../tf.js';
import { CROSS_ENTROPY, CROSS_ENTROPY_BACKWARD } from '../backend/wasm-kernels/cross-entropy.js';
import { fusedLayersActive } from '../cells/fused.js';

export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (!fusedLayersActive(tf.getBackend())) {
    return tf.losses.softmaxCrossEntropy(tf.oneHot(targets, logits.shape[1]), logits) as tf.Scalar;
  }
  const losses = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const [value, probs] = tf.engine().runKernel(CROSS_ENTROPY, { logits: x, targets }) as tf.Tensor[];
    save([probs, targets]); // targets too: the caller may dispose them before the backward runs
    probs.dispose(); // save keeps its own reference
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], [probsKept, targetsKept]: tf.Tensor[]): tf.Tensor =>
      tf.engine().runKernel(CROSS_ENTROPY_BACKWARD, { probs: probsKept, targets: targetsKept, dLosses: dy as tf.Tensor }) as tf.Tensor;
    return { value, gradFunc };
  });
  return tf.mean(losses(logits));
}
