/**
 * One vanilla (Elman) RNN layer run over a whole sequence, time-major, with a
 * hand-written backward:  h' = tanh(x·W + b + h·U)  — Keras/tfjs `SimpleRNN`.
 *
 * As in lstm.ts, the input projection x·W + b for every step comes from the caller (one
 * gather or one matMul before the time loop); each step does one h·U matMul. The state
 * is h alone.
 *
 * Shapes: T steps, B streams, H hidden units.
 *   zIn (T*B, H)    row t*B + b is step t of stream b
 *   U   (H, H)
 *   [h0] (B, H)     carried state (truncated BPTT: usually a constant; h0 is differentiable
 *                   for a learned initial state, its gradient the backward's last dh)
 *   hs  (T*B, H)    hidden output of every step
 *
 * Memory: the backward keeps only the outputs h of every step, T·B·H floats.
 */
import * as tf from '../tf.js';
import { projectedStepper, type LayerOutput, type RecurrentCell, type RecurrentState } from './cell.js';
import { fusedLayersActive, fusedModelStep, fusedRnnForward, fusedRnnSequence } from './fused.js';
import { recurrentKernelGradient } from './lstm.js';

/** One time step given the step's input projection zx (B, H). */
export function rnnStep(zx: tf.Tensor2D, U: tf.Tensor2D, hPrev: tf.Tensor2D): tf.Tensor2D {
  return tf.tanh(tf.add(zx, tf.matMul(hPrev, U))) as tf.Tensor2D;
}

/**
 * The plain forward: used for evaluation, and, differentiated by tfjs autodiff, as the
 * reference that the gradient test holds the hand-written backward to.
 */
export function rnnForward(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  let [h] = initial;
  const steps = zIn.shape[0] / h.shape[0];
  const hs: tf.Tensor2D[] = [];
  for (const zx of tf.split(zIn, steps, 0) as tf.Tensor2D[]) {
    h = rnnStep(zx, U, h);
    hs.push(h);
  }
  return { hs: tf.concat(hs, 0), final: [h] };
}

/**
 * The layer with its hand-written backward. Returns hs (differentiable with respect to
 * zIn, U and the initial h) and the final state, which is kept (survives the caller's tidy) and is not
 * differentiable: the caller owns it and disposes it.
 */
export function rnnSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const steps = zIn.shape[0] / initial[0].shape[0];
  let final: RecurrentState | undefined;

  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    let h = h0;
    const hs: tf.Tensor2D[] = [];
    for (const zx of tf.split(zInT, steps, 0) as tf.Tensor2D[]) {
      h = tf.tidy(() => rnnStep(zx, UT, h)); // its temporaries go at once, as in lstm.ts
      zx.dispose();
      hs.push(h);
    }
    final = [tf.keep(h)];
    const hsAll = tf.concat(hs, 0);
    // h_{t-1} of every step, for dU in one matMul.
    const hPrevAll = steps > 1 ? tf.concat([h0, ...hs.slice(0, -1)], 0) : h0;
    save([UT, hPrevAll, hsAll]);

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => rnnBackward(dy as tf.Tensor2D, saved, steps);
    return { value: hsAll, gradFunc };
  });

  const hs = run(zIn, U, initial[0]) as tf.Tensor2D;
  return { hs, final: final! };
}

/**
 * rnnSequence's backward: from dy (T*B, H), the gradient of hs, and what the forward saved
 * (U, h_{t-1} of every step and hs, each (T*B, H)), the gradients of zIn (T*B, H), U (H, H)
 * and h0 (B, H). Disposes `saved`.
 */
function rnnBackward(dy: tf.Tensor2D, saved: tf.Tensor[], steps: number): tf.Tensor[] {
  // In a tidy: tfjs frees a backward's temporaries only when the whole gradient is done.
  return tf.tidy(() => {
    const [Ukept, hPrev, hsKept] = saved;
    const dHs = tf.split(dy, steps, 0);
    const hSteps = tf.split(hsKept, steps, 0);
    const UTransposed = tf.transpose(Ukept); // once per sequence, not per step
    const dzs = new Array<tf.Tensor>(steps);
    let dhNext: tf.Tensor | null = null;
    for (let t = steps - 1; t >= 0; t--) {
      const dhAfter = dhNext;
      dzs[t] = tf.tidy(() => tf.mul(dhAfter ? tf.add(dHs[t], dhAfter) : dHs[t], tf.sub(1, tf.square(hSteps[t]))));
      dhNext = tf.matMul(dzs[t] as tf.Tensor2D, UTransposed);
      dhAfter?.dispose();
    }
    const dZIn = tf.concat(dzs, 0);
    tf.dispose(dzs);
    const dU = recurrentKernelGradient(dZIn as tf.Tensor2D, hPrev as tf.Tensor2D);
    tf.dispose(saved); // their one use; the tape would keep them until the whole gradient is done
    return [dZIn, dU, dhNext!]; // what flows back past step 0 is the initial h's gradient
  });
}

export const rnn: RecurrentCell = {
  gates: 1,
  state: ['h'],
  initialBias: (H) => new Float32Array(H),
  reference: {
    forward: rnnForward,
    sequence: rnnSequence,
    stepper: (layer, W, U, b) => projectedStepper(layer, W, U, b, (z) => [tf.tanh(z) as tf.Tensor2D]),
  },
  // On wasm: one kernel call per window (fused.ts), and per sampling step.
  fused: (backend) =>
    fusedLayersActive(backend) ? { forward: fusedRnnForward, sequence: fusedRnnSequence, modelStep: fusedModelStep('rnn') } : undefined,
  keras: { className: 'SimpleRNN', prefix: 'simple_rnn', config: { activation: 'tanh' } },
  torch: { module: 'RNN' }, // nonlinearity='tanh', its default
};
