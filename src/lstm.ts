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
 *   h0, c0 (B, H)   carried state (truncated BPTT: usually a constant; differentiable for a
 *                   learned initial state, whose gradient is the backward's last dh, dc)
 *   hs  (T*B, H)    hidden output of every step
 *
 * Memory: the backward keeps i, f, g, o, tanh(c) and c_{t-1} of every step, 6·T·B·H floats.
 */
import * as tf from '@tensorflow/tfjs';

export interface LstmState {
  h: tf.Tensor2D; // (B, H)
  c: tf.Tensor2D; // (B, H)
}

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
export function lstmForward(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: LstmState): { hs: tf.Tensor2D; final: LstmState } {
  const steps = zIn.shape[0] / initial.h.shape[0];
  let { h, c } = initial;
  const hs: tf.Tensor2D[] = [];
  for (const zx of splitSteps(zIn, steps)) {
    ({ h, c } = lstmStep(zx, U, h, c));
    hs.push(h);
  }
  return { hs: tf.concat(hs, 0), final: { h, c } };
}

/**
 * The layer with its hand-written backward. Returns hs (differentiable with respect to
 * zIn, U and the initial state) and the final state, which is kept (survives the caller's tidy) and is
 * not differentiable: the caller owns it and disposes it.
 */
export function lstmSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: LstmState): { hs: tf.Tensor2D; final: LstmState } {
  const batch = initial.h.shape[0];
  const steps = zIn.shape[0] / batch;
  let final: LstmState | undefined;

  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, c0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    let [h, c] = [h0, c0];
    const hs: tf.Tensor2D[] = [];
    const kept: tf.Tensor[] = [];
    for (const zx of splitSteps(zInT, steps)) {
      const step = lstmStep(zx, UT, h, c);
      kept.push(step.i, step.f, step.g, step.o, step.tanhC, c);
      ({ h, c } = step);
      hs.push(h);
    }
    final = { h: tf.keep(h), c: tf.keep(c) };
    const hsAll = tf.concat(hs, 0);
    // h_{t-1} for every step, for dU in one matMul.
    const hPrevAll = steps > 1 ? tf.concat([h0, ...hs.slice(0, -1)], 0) : h0;
    save([UT, hPrevAll, ...kept]);

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] => {
      const [Ukept, hPrev, ...perStep] = saved;
      const dHs = splitSteps(dy as tf.Tensor2D, steps);
      const UTransposed = tf.transpose(Ukept); // once per sequence, not per step
      const dzs: tf.Tensor[] = new Array(steps);
      let dhNext: tf.Tensor | null = null;
      let dcNext: tf.Tensor | null = null;
      for (let t = steps - 1; t >= 0; t--) {
        const [i, f, g, o, tanhC, cPrev] = perStep.slice(t * 6, t * 6 + 6);
        // One tidy per step: its ~20 temporaries go at once, not at the end of the whole
        // backward (with T = 100 that was most of the training step's memory).
        const step = tf.tidy(() => {
          const dh: tf.Tensor = dhNext ? tf.add(dHs[t], dhNext) : dHs[t];
          // dL/dc through h = o·tanh(c), plus what flows back from step t+1.
          const dcFromH = tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tanhC)));
          const dc: tf.Tensor = dcNext ? tf.add(dcFromH, dcNext) : dcFromH;
          const dzi = tf.mul(tf.mul(dc, g), tf.mul(i, tf.sub(1, i)));
          const dzf = tf.mul(tf.mul(dc, cPrev), tf.mul(f, tf.sub(1, f)));
          const dzg = tf.mul(tf.mul(dc, i), tf.sub(1, tf.square(g)));
          const dzo = tf.mul(tf.mul(dh, tanhC), tf.mul(o, tf.sub(1, o)));
          const dz = tf.concat([dzi, dzf, dzg, dzo], 1) as tf.Tensor2D;
          return { dz, dh: tf.matMul(dz, UTransposed), dc: tf.mul(dc, f) };
        });
        if (dhNext) tf.dispose([dhNext, dcNext!]);
        dzs[t] = step.dz;
        dhNext = step.dh;
        dcNext = step.dc;
      }
      const dZIn = tf.concat(dzs, 0);
      tf.dispose(dzs);
      // dU = hPrevᵀ·dZ, one matMul for all steps, computed as (dZᵀ·hPrev)ᵀ: XNNPACK packs its
      // second operand on every call, and hPrev (T·B, H) is a quarter the size of dZ (T·B, 4H).
      const dU = tf.transpose(tf.matMul(tf.transpose(dZIn), hPrev as tf.Tensor2D));
      return [dZIn, dU, dhNext!, dcNext!]; // what flows back past step 0 is the initial state's gradient
    };
    return { value: hsAll, gradFunc };
  });

  const hs = run(zIn, U, initial.h, initial.c) as tf.Tensor2D;
  return { hs, final: final! };
}
