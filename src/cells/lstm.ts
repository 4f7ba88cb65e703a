/**
 * One LSTM layer run over a whole sequence, time-major, with a hand-written backward.
 *
 * The input projection x·W + b for every time step is computed by the caller in one
 * matMul (or one gather for one-hot input) before the time loop; here each step does
 * one fused h·U matMul for all four gates. Gates are in Keras order (i, f, g, o) so
 * the weights load unchanged into a tfjs/Keras LSTM layer.
 *
 * Shapes: T steps, B streams, H hidden units.
 *   zIn (T*B, 4H)   row t*B + b is step t of stream b
 *   U   (H, 4H)
 *   [h0, c0] (B, H) carried state (truncated BPTT: usually a constant; differentiable for a
 *                   learned initial state, whose gradient is the backward's last dh, dc)
 *   hs  (T*B, H)    hidden output of every step
 *
 * Memory: the backward keeps 6·T·B·H floats (see lstmSequence).
 */
import * as tf from '../tf.js';
import { projectedStepper, type LayerOutput, type RecurrentCell, type RecurrentState } from './cell.js';
import { fusedLayersActive, fusedLstmCell, fusedLstmForward, fusedLstmSequence, stepProjectorFactory, fusedModelStep } from './fused.js';

interface StepResult {
  i: tf.Tensor;
  f: tf.Tensor;
  g: tf.Tensor;
  o: tf.Tensor;
  c: tf.Tensor2D;
  tanhC: tf.Tensor;
  h: tf.Tensor2D;
}

/** One time step given the step's input projection zx (B, 4H). */
export function lstmStep(zx: tf.Tensor2D, U: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D): StepResult {
  return lstmCell(tf.add(zx, tf.matMul(hPrev, U)) as tf.Tensor2D, cPrev);
}

/** The gates and new state from the pre-activations z (B, 4H) of all four gates. */
export function lstmCell(z: tf.Tensor2D, cPrev: tf.Tensor2D): StepResult {
  const [zi, zf, zg, zo] = tf.split(z, 4, 1);
  const i = tf.sigmoid(zi);
  const f = tf.sigmoid(zf);
  const g = tf.tanh(zg);
  const o = tf.sigmoid(zo);
  const c = tf.add(tf.mul(f, cPrev), tf.mul(i, g)) as tf.Tensor2D;
  const tanhC = tf.tanh(c);
  return { i, f, g, o, c, tanhC, h: tf.mul(o, tanhC) as tf.Tensor2D };
}

function splitSteps(zIn: tf.Tensor2D, steps: number): tf.Tensor2D[] {
  return tf.split(zIn, steps, 0) as tf.Tensor2D[];
}

/**
 * The plain forward: used for evaluation and sampling, and, differentiated by tfjs autodiff,
 * as the reference that the gradient test holds the hand-written backward to.
 */
export function lstmForward(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const batch = initial[0].shape[0];
  const steps = zIn.shape[0] / batch;
  let [h, c] = initial;
  const hs: tf.Tensor2D[] = [];
  const zxs = splitSteps(zIn, steps);
  for (let t = 0; t < steps; t++) {
    // One tidy per step, so a window's temporaries never pile up (the values autodiff
    // needs survive it: tfjs keeps its own references to them).
    const prevC = c;
    ({ h, c } = tf.tidy(() => {
      const { h: hNext, c: cNext } = lstmStep(zxs[t], U, h, prevC);
      return { h: hNext, c: cNext };
    }));
    zxs[t].dispose();
    if (t > 0) prevC.dispose(); // h_{t-1} stays, in hs
    hs.push(h);
  }
  const hsAll = tf.concat(hs, 0);
  tf.dispose(hs.slice(0, -1)); // the last is the final h
  return { hs: hsAll, final: [h, c] };
}

/**
 * dU = hPrevᵀ·dZ for the whole window in one matMul: hPrev (T·B, H) is h_{t-1} of every
 * step, dZ (T·B, G·H) the pre-activations' gradient. (On wasm our GEMM reads hPrev
 * transposed in place; XNNPACK, under it before, needed (dZᵀ·hPrev)ᵀ.)
 */
export function recurrentKernelGradient(dZ: tf.Tensor2D, hPrev: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(hPrev, dZ, true, false);
}

/**
 * Per-gate constants for the derivatives of the activations a = (i, f, g, o) from their
 * pre-activations: σ' = a − a² for the sigmoid gates, tanh' = 1 − a² for g, so
 * a' = slope·a + offset − a² with slope 1 (0 for g) and offset 0 (1 for g).
 */
function activationSlopes(H: number): { slope: tf.Tensor1D; offset: tf.Tensor1D } {
  const slope = new Float32Array(4 * H).fill(1);
  slope.fill(0, 2 * H, 3 * H);
  const offset = new Float32Array(4 * H).fill(1, 2 * H, 3 * H);
  return { slope: tf.tensor1d(slope), offset: tf.tensor1d(offset) };
}

/**
 * The layer with its hand-written backward. Returns hs (differentiable with respect to
 * zIn, U and the initial state) and the final state, which is kept (survives the caller's tidy) and is
 * not differentiable: the caller owns it and disposes it.
 *
 * The forward also computes, per step, everything the backward multiplies by:
 *   dz = (dc, dc, dc, dh) ∘ (g, c_{t-1}, i, tanh c) ∘ a'      (a' as in activationSlopes)
 *   dc = dh ∘ o ∘ (1 − tanh² c) + dc_{t+1} ∘ f_{t+1}
 * so the backward's time loop is 7 ops a step instead of 31, and a step forward and back
 * 32 instead of 43: on tfjs-node-gpu each op is a kernel launch. (On wasm, where ops on
 * (B, 4H) cost more than on (B, H), the two forms take the same time.)
 */
export function lstmSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const [batch, H] = initial[0].shape;
  const steps = zIn.shape[0] / batch;
  let final: RecurrentState | undefined;

  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, c0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const { slope, offset } = activationSlopes(H);
    let [h, c] = [h0, c0];
    const hs: tf.Tensor2D[] = [];
    const kept: tf.Tensor[] = [];
    const zxs = splitSteps(zInT, steps);
    for (let t = 0; t < steps; t++) {
      // One tidy per step: the step's temporaries go at once (the whole sequence's worth
      // of them was most of a training step's peak memory).
      const step = tf.tidy(() => {
        const { i, f, g, o, c: cNext, tanhC, h: hNext } = lstmStep(zxs[t], UT, h, c);
        const a = tf.concat([i, f, g, o], 1);
        const slopes = tf.sub(tf.add(tf.mul(a, slope), offset), tf.square(a));
        const dzPerD = tf.mul(tf.concat([g, c, i, tanhC], 1), slopes); // dz / (dc, dc, dc, dh)
        const dcPerDh = tf.mul(o, tf.sub(1, tf.square(tanhC)));
        return { kept: [dzPerD, dcPerDh, f], h: hNext, c: cNext };
      });
      kept.push(...step.kept);
      zxs[t].dispose();
      if (t > 0) tf.dispose(c); // c_{t-1}: h_{t-1} stays, in hs
      ({ h, c } = step);
      hs.push(h);
    }
    final = [tf.keep(h), tf.keep(c)];
    const hsAll = tf.concat(hs, 0);
    // h_{t-1} for every step, for dU in one matMul.
    const hPrevAll = steps > 1 ? tf.concat([h0, ...hs.slice(0, -1)], 0) : h0;
    save([UT, hPrevAll, ...kept]);

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => lstmBackward(dy as tf.Tensor2D, saved, steps);
    return { value: hsAll, gradFunc };
  });

  const hs = run(zIn, U, ...initial) as tf.Tensor2D;
  return { hs, final: final! };
}

/**
 * lstmSequence's backward: from dy (T*B, H), the gradient of hs, and what the forward
 * saved (U, h_{t-1} of every step (T*B, H), then dz/d(dc, dc, dc, dh), dc/dh and f of
 * every step), the gradients of zIn (T*B, 4H), U (H, 4H), h0 and c0 (B, H). Disposes `saved`.
 */
function lstmBackward(dy: tf.Tensor2D, saved: tf.Tensor[], steps: number): tf.Tensor[] {
  // In a tidy: tfjs frees a backward's temporaries only when the whole gradient is done.
  return tf.tidy(() => {
    const [Ukept, hPrev, ...perStep] = saved;
    const dHs = splitSteps(dy, steps);
    const UTransposed = tf.transpose(Ukept); // once per sequence, not per step
    const dzs = new Array<tf.Tensor>(steps);
    let dhNext: tf.Tensor | null = null;
    let dcNext: tf.Tensor | null = null;
    for (let t = steps - 1; t >= 0; t--) {
      const [dzPerD, dcPerDh, f] = perStep.slice(t * 3, t * 3 + 3);
      // One tidy per step: its temporaries go at once, not at the end of the whole
      // backward (with T = 100 that was most of the training step's memory).
      const step = tf.tidy(() => {
        const dh: tf.Tensor = dhNext ? tf.add(dHs[t], dhNext) : dHs[t];
        const dcFromH = tf.mul(dh, dcPerDh);
        const dc: tf.Tensor = dcNext ? tf.add(dcFromH, dcNext) : dcFromH;
        const dz = tf.mul(tf.concat([dc, dc, dc, dh], 1), dzPerD) as tf.Tensor2D;
        return { dz, dh: tf.matMul(dz, UTransposed), dc: tf.mul(dc, f) };
      });
      if (dhNext) tf.dispose([dhNext, dcNext!]);
      dzs[t] = step.dz;
      dhNext = step.dh;
      dcNext = step.dc;
    }
    const dZIn = tf.concat(dzs, 0);
    tf.dispose(dzs);
    const dU = recurrentKernelGradient(dZIn as tf.Tensor2D, hPrev as tf.Tensor2D);
    // This was the saved tensors' one use; the tape would keep them until the whole gradient is done.
    tf.dispose(saved);
    return [dZIn, dU, dhNext!, dcNext!]; // what flows back past step 0 is the initial state's gradient
  });
}

export const lstm: RecurrentCell = {
  gates: 4,
  state: ['h', 'c'],
  // Forget-gate bias 1 (gate order i, f, g, o): early on the cell remembers rather than forgets.
  initialBias: (H) => new Float32Array(4 * H).fill(1, H, 2 * H),
  reference: {
    forward: lstmForward,
    sequence: lstmSequence,
    stepper: (layer, W, U, b) =>
      projectedStepper(layer, W, U, b, (z, [, c]) => {
        const next = lstmCell(z, c);
        return [next.h, next.c];
      }),
  },
  // On wasm: one kernel call per window (fused.ts), and per sampling step's cell.
  fused: (backend) =>
    fusedLayersActive(backend)
      ? {
          forward: fusedLstmForward,
          sequence: fusedLstmSequence,
          stepper: (layer, W, U, b) => projectedStepper(layer, W, U, b, (z, [, c]) => fusedLstmCell(z, c), stepProjectorFactory()),
          modelStep: fusedModelStep('lstm'),
        }
      : undefined,
  keras: {
    className: 'LSTM',
    prefix: 'lstm',
    config: { activation: 'tanh', recurrent_activation: 'sigmoid', unit_forget_bias: true, implementation: 2 },
  },
  torch: { module: 'LSTM' }, // the same gate order (i, f, g, o) and sigmoid gates
};
