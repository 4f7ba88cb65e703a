/**
 * Learned initial state (`--learned-init`): each layer's starting h (and, for an LSTM,
 * c) is a trained vector instead of zeros. `CharModel.initialState(B)` broadcasts it to B
 * rows; that is where streams start (each epoch, evaluation, sampling).
 *
 * The gradient must reach the vector whenever a training step starts from it, but the
 * state arrives at `CharModel.forward` as plain tensors: made outside the gradient tape
 * by the trainer, and, with several threads, cut into shards and shipped to workers as
 * floats. So the forward recognises it by value: a row of the incoming state that is
 * bit-for-bit the learned vector is a stream starting from it, and the loss's gradient
 * with respect to that row is added to the vector's gradient. A carried (mid-epoch)
 * state equal to it in all H floats does not happen in practice; float32 copies,
 * slices and worker round-trips keep the start rows exact.
 */
import * as tf from '../tf.js';

/**
 * state (B, H), init (H) → the same values (B, H); backward: the state gets dy, and
 * init gets the sum of dy over the rows of state that equal init exactly.
 */
export function attachInitialState(state: tf.Tensor2D, init: tf.Tensor1D): tf.Tensor2D {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, v, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const startsHere = tf.cast(tf.all(tf.equal(s, v), 1, true), 'float32'); // (B, 1): 1 where the row is the initial state
    save([startsHere]);
    return {
      value: tf.clone(s),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [dy as tf.Tensor, tf.sum(tf.mul(dy as tf.Tensor, saved[0]), 0)],
    };
  });
  return run(state, init) as tf.Tensor2D;
}

/**
 * x (any shape) → the same values, through which no gradient flows: `initialState` is a
 * start value, so that its broadcast of the learned vectors does not also pass a
 * gradient (which `attachInitialState` already gives) when made inside a gradient scope.
 */
export function detached<T extends tf.Tensor>(x: T): T {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
  }));
  return run(x) as T;
}
