/**
 * One GRU layer (Cho et al. 2014) run over a whole sequence, time-major, with a
 * hand-written backward. Gates in Keras order (z update, r reset, h candidate):
 *
 *   z = σ(x·Wz + bz + h·Uz)        r = σ(x·Wr + br + h·Ur)
 *   ĥ = tanh(x·Wh + bh + (r∘h)·Uh)
 *   h' = z∘h + (1 − z)∘ĥ  =  ĥ + z∘(h − ĥ)
 *
 * Variant: the reset gate is applied BEFORE the recurrent matMul, (r∘h)·Uh — Keras
 * `reset_after=False`, the original paper's form. The other variant, `reset_after=True`
 * (r∘(h·Uh + b'h), the cuDNN/TF2 default), would let every step do one fused h·U matMul
 * for all three gates, but tfjs-layers 4.22 refuses it ("GRUCell does not support
 * reset_after parameter set to true"), so such a model could not be exported as a
 * layers model that plain @tensorflow/tfjs loads. reset_before loads unchanged in tfjs
 * (GRU, recurrent_activation sigmoid) and in Keras (GRU, reset_after=False). Its cost:
 * two dependent matMuls per step, h·U_zr (H, 2H) then (r∘h)·Uh (H, H): the same FLOPs
 * as one (H, 3H) matMul, one more op per step.
 *
 * As in lstm.ts, the input projection x·W + b for every step comes from the caller (one
 * gather or one matMul before the time loop). The state is h alone.
 *
 * Shapes: T steps, B streams, H hidden units.
 *   zIn (T*B, 3H)   row t*B + b is step t of stream b; columns z | r | h
 *   U   (H, 3H)     columns Uz | Ur | Uh
 *   [h0] (B, H)     carried state (truncated BPTT: usually a constant; h0 is differentiable
 *                   for a learned initial state, its gradient the backward's last dh)
 *   hs  (T*B, H)    hidden output of every step
 *
 * Memory: the backward keeps z, r, [z r], ĥ, h − ĥ and r∘h of every step, 7·T·B·H floats.
 */
import * as tf from '../tf.js';
import {
  stepProjection,
  type LayerOutput,
  type LayerStepper,
  type RecurrentCell,
  type RecurrentState,
  type StepProjectorFactory,
} from './cell.js';
import { fusedGruCell, fusedGruForward, fusedGruSequence, fusedLayersActive, stepProjectorFactory, fusedModelStep } from './fused.js';

interface StepResult {
  /** σ of the update and reset pre-activations, (B, 2H), and its two halves. */
  zr: tf.Tensor2D;
  z: tf.Tensor2D;
  r: tf.Tensor2D;
  /** r∘h_{t-1}, the input of the candidate's recurrent matMul. */
  rh: tf.Tensor2D;
  /** The candidate ĥ, and h_{t-1} − ĥ. */
  hh: tf.Tensor2D;
  diff: tf.Tensor2D;
  h: tf.Tensor2D;
}

/** One time step given the step's input projections xzr (B, 2H) and xh (B, H); Uzr (H, 2H), Uh (H, H). */
export function gruStep(xzr: tf.Tensor2D, xh: tf.Tensor2D, Uzr: tf.Tensor2D, Uh: tf.Tensor2D, hPrev: tf.Tensor2D): StepResult {
  return gruCell(tf.add(xzr, tf.matMul(hPrev, Uzr)) as tf.Tensor2D, xh, Uh, hPrev);
}

/**
 * The gates and new state from the update/reset pre-activations szr (B, 2H) (input and
 * recurrent parts summed) and the candidate's input part xh (B, H).
 */
export function gruCell(szr: tf.Tensor2D, xh: tf.Tensor2D, Uh: tf.Tensor2D, hPrev: tf.Tensor2D): StepResult {
  const zr = tf.sigmoid(szr);
  const [z, r] = tf.split(zr, 2, 1) as tf.Tensor2D[];
  const rh = tf.mul(r, hPrev) as tf.Tensor2D;
  const hh = tf.tanh(tf.add(xh, tf.matMul(rh, Uh))) as tf.Tensor2D;
  const diff = tf.sub(hPrev, hh) as tf.Tensor2D;
  const h = tf.add(hh, tf.mul(z, diff)) as tf.Tensor2D;
  return { zr, z, r, rh, hh, diff, h };
}

/** zIn (T*B, 3H) → per-step update/reset parts (B, 2H) and candidate parts (B, H). */
function splitSteps(zIn: tf.Tensor2D, steps: number, H: number): { xzr: tf.Tensor2D[]; xh: tf.Tensor2D[] } {
  const [zrAll, hAll] = tf.split(zIn, [2 * H, H], 1) as tf.Tensor2D[];
  return { xzr: tf.split(zrAll, steps, 0) as tf.Tensor2D[], xh: tf.split(hAll, steps, 0) as tf.Tensor2D[] };
}

function splitU(U: tf.Tensor2D, H: number): [tf.Tensor2D, tf.Tensor2D] {
  return tf.split(U, [2 * H, H], 1) as [tf.Tensor2D, tf.Tensor2D];
}

/**
 * The plain forward: used for evaluation, and, differentiated by tfjs autodiff, as the
 * reference that the gradient test holds the hand-written backward to.
 */
export function gruForward(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  let [h] = initial;
  const [B, H] = h.shape;
  const steps = zIn.shape[0] / B;
  const [Uzr, Uh] = splitU(U, H);
  const { xzr, xh } = splitSteps(zIn, steps, H);
  const hs: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    h = gruStep(xzr[t], xh[t], Uzr, Uh, h).h;
    hs.push(h);
  }
  return { hs: tf.concat(hs, 0), final: [h] };
}

/**
 * The layer with its hand-written backward. Returns hs (differentiable with respect to
 * zIn, U and the initial h) and the final state, which is kept (survives the caller's tidy) and is not
 * differentiable: the caller owns it and disposes it.
 */
export function gruSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const [B, H] = initial[0].shape;
  const steps = zIn.shape[0] / B;
  let final: RecurrentState | undefined;

  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const [Uzr, Uh] = splitU(UT, H);
    const { xzr, xh } = splitSteps(zInT, steps, H);
    let h = h0;
    const hs: tf.Tensor2D[] = [];
    const kept: tf.Tensor[] = [];
    const rhs: tf.Tensor2D[] = [];
    for (let t = 0; t < steps; t++) {
      // One tidy per step: its temporaries go at once, as in lstm.ts.
      const step = tf.tidy(() => {
        const { zr, z, r, rh, hh, diff, h: hNext } = gruStep(xzr[t], xh[t], Uzr, Uh, h);
        return { kept: [zr, z, r, hh, diff], rh, h: hNext };
      });
      tf.dispose([xzr[t], xh[t]]);
      kept.push(...step.kept);
      rhs.push(step.rh);
      h = step.h;
      hs.push(h);
    }
    final = [tf.keep(h)];
    const hsAll = tf.concat(hs, 0);
    // h_{t-1} and r∘h_{t-1} of every step, for dU in one matMul per block.
    const hPrevAll = steps > 1 ? tf.concat([h0, ...hs.slice(0, -1)], 0) : h0;
    const rhAll = tf.concat(rhs, 0);
    save([Uzr, Uh, hPrevAll, rhAll, ...kept]);

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => gruBackward(dy as tf.Tensor2D, saved, steps);
    return { value: hsAll, gradFunc };
  });

  const hs = run(zIn, U, initial[0]) as tf.Tensor2D;
  return { hs, final: final! };
}

/**
 * gruSequence's backward: from dy (T*B, H), the gradient of hs, and what the forward saved
 * (Uzr, Uh, h_{t-1} and r∘h_{t-1} of every step (T*B, H), then z|r, z, r, ĥ and h − ĥ of
 * every step), the gradients of zIn (T*B, 3H), U (H, 3H) and h0 (B, H). Disposes `saved`.
 */
function gruBackward(dy: tf.Tensor2D, saved: tf.Tensor[], steps: number): tf.Tensor[] {
  // In a tidy: tfjs frees a backward's temporaries only when the whole gradient is done.
  return tf.tidy(() => {
    const [UzrKept, UhKept, hPrev, rhPrev, ...perStep] = saved;
    const dHs = tf.split(dy, steps, 0);
    const hPrevSteps = tf.split(hPrev, steps, 0);
    const UzrT = tf.transpose(UzrKept); // once per sequence, not per step
    const UhT = tf.transpose(UhKept);
    const dSzr = new Array<tf.Tensor>(steps); // d(update/reset pre-activations), (B, 2H)
    const dA = new Array<tf.Tensor>(steps); // d(candidate pre-activation), (B, H)
    let dhNext: tf.Tensor | null = null;
    for (let t = steps - 1; t >= 0; t--) {
      const [zr, z, r, hh, diff] = perStep.slice(t * 5, t * 5 + 5);
      const dhAfter = dhNext;
      // One tidy per step, as in lstm.ts.
      const step = tf.tidy(() => {
        const dh: tf.Tensor = dhAfter ? tf.add(dHs[t], dhAfter) : dHs[t];
        // h' = ĥ + z∘(h − ĥ)
        const dz = tf.mul(dh, diff);
        const dhh = tf.mul(dh, tf.sub(1, z));
        const dA = tf.mul(dhh, tf.sub(1, tf.square(hh)));
        // ĥ = tanh(xh + (r∘h)·Uh): the gradient reaches r and h through r∘h.
        const dRh = tf.matMul(dA as tf.Tensor2D, UhT);
        const dr = tf.mul(dRh, hPrevSteps[t]);
        const dSzr = tf.mul(tf.concat([dz, dr], 1), tf.mul(zr, tf.sub(1, zr)));
        return { dA, dSzr, dh: tf.add(tf.add(tf.mul(dh, z), tf.mul(dRh, r)), tf.matMul(dSzr as tf.Tensor2D, UzrT)) };
      });
      dhAfter?.dispose();
      ({ dA: dA[t], dSzr: dSzr[t], dh: dhNext } = step);
    }
    const dSzrAll = tf.concat(dSzr, 0) as tf.Tensor2D;
    const dAAll = tf.concat(dA, 0) as tf.Tensor2D;
    tf.dispose([...dSzr, ...dA]);
    const dZIn = tf.concat([dSzrAll, dAAll], 1);
    // dU: one matMul per block for all steps (the blocks' left operands differ: h vs r∘h).
    const dU = tf.concat([tf.matMul(tf.transpose(hPrev), dSzrAll), tf.matMul(tf.transpose(rhPrev), dAAll)], 1);
    tf.dispose(saved); // their one use; the tape would keep them until the whole gradient is done
    return [dZIn, dU, dhNext!]; // what flows back past step 0 is the initial h's gradient
  });
}

/** What a sampling step does after its projections: szr (B, 2H), xh (B, H), Uh (H, H), h (B, H) → the new h. */
type GruCellStep = (szr: tf.Tensor2D, xh: tf.Tensor2D, Uh: tf.Tensor2D, h: tf.Tensor2D) => tf.Tensor2D;

/**
 * Sampling's step: the update and reset columns join the input and recurrent matMuls as
 * any cell's do (StepProjection), but the candidate's recurrent part (r∘h)·Uh cannot (it
 * needs r first): its input part is a second projection, without U, and `cellStep` adds it.
 */
function gruStepper(
  layer: number,
  W: tf.Tensor2D,
  U: tf.Tensor2D,
  b: tf.Tensor1D,
  cellStep: GruCellStep,
  project: StepProjectorFactory = stepProjection,
): LayerStepper {
  const H = U.shape[0];
  const [Wzr, Wh] = tf.split(W, [2 * H, H], 1) as tf.Tensor2D[];
  const [Uzr, Uh] = splitU(U, H);
  const [bzr, bh] = tf.split(b, [2 * H, H]) as tf.Tensor1D[];
  const update = project(layer, Wzr, Uzr, bzr);
  const candidate = project(layer, Wh, null, bh);
  tf.dispose([Wzr, Wh, Uzr, bzr, bh]); // the projections hold their own combined copies
  return {
    step: (input, [h]) => [cellStep(update.apply(input, h), candidate.apply(input, h), Uh, h)],
    dispose: () => {
      update.dispose();
      candidate.dispose();
      Uh.dispose();
    },
  };
}

export const gru: RecurrentCell = {
  gates: 3,
  state: ['h'],
  initialBias: (H) => new Float32Array(3 * H),
  reference: {
    forward: gruForward,
    sequence: gruSequence,
    stepper: (layer, W, U, b) => gruStepper(layer, W, U, b, (szr, xh, Uh, h) => gruCell(szr, xh, Uh, h).h),
  },
  // On wasm: one kernel call per window (fused.ts), and per sampling step's cell.
  fused: (backend) =>
    fusedLayersActive(backend)
      ? {
          forward: fusedGruForward,
          sequence: fusedGruSequence,
          stepper: (layer, W, U, b) => gruStepper(layer, W, U, b, fusedGruCell, stepProjectorFactory()),
          modelStep: fusedModelStep('gru'),
        }
      : undefined,
  keras: {
    className: 'GRU',
    prefix: 'gru',
    // Keras 2.3+ defaults to reset_after=True: say False explicitly, or Keras reads the weights wrongly.
    config: { activation: 'tanh', recurrent_activation: 'sigmoid', reset_after: false, implementation: 2 },
  },
  torch: {
    unsupported:
      'our GRU applies the reset gate before the recurrent matMul (Keras reset_after=False) and torch.nn.GRU applies it after, ' +
      'so no torch.nn.GRU computes what this model does',
  },
};
