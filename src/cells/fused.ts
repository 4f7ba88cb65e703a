/**
 * The LSTM, GRU and vanilla RNN layers as one kernel call per window (wasm/lstm.ts,
 * wasm/gru.ts, wasm/rnn.ts, through the wasm backend's kernels in src/backend/wasm-kernels/):
 * what lstm.ts, gru.ts and rnn.ts offer as their cells' fused kernels on 'wasm'
 * (RecurrentCell.fused), with the contracts of their reference kernels, which stay the path
 * on every other backend.
 *
 * Shapes: T steps, B streams, H hidden units, G gates (LSTM 4, GRU 3, RNN 1).
 *   zIn (T*B, G·H), U (H, G·H), initial [h, c] or [h] (B, H)  ->  hs (T*B, H), final state alike
 *
 * Memory the backward keeps: for the LSTM what the forward's kernel wrote, gates (T·B·4H),
 * cs (T·B·H) and hs (the output, T·B·H), 6·T·B·H floats, as the op-by-op layer; for the
 * GRU gates (T·B·3H), r∘h (T·B·H) and hs, 5·T·B·H floats (the op-by-op layer 7); for the
 * RNN hs only, T·B·H.
 */
import * as tf from '../tf.js';
import { GRU_BACKWARD, GRU_CELL, GRU_FORWARD } from '../backend/wasm-kernels/gru.js';
import { PACK, STEP_PROJECTION } from '../backend/wasm-kernels/step.js';
import { LSTM_BACKWARD, LSTM_CELL, LSTM_FORWARD } from '../backend/wasm-kernels/lstm.js';
import { RNN_BACKWARD, RNN_FORWARD } from '../backend/wasm-kernels/rnn.js';
import { WasmModelStep, type WholeStepCell } from '../backend/wasm-kernels/model-step.js';
import { asWasm } from '../backend/wasm-kernels/backend.js';
import { ColumnSplitModelStep } from '../backend/wasm-kernels/column-step.js';
import {
  stepProjection,
  type LayerOutput,
  type ModelStepper,
  type RecurrentState,
  type StepProjector,
  type StepProjectorFactory,
} from './cell.js';
import { recurrentKernelGradient } from './lstm.js';

let enabled = true;

/** Turns the fused layers off (or on again) for the whole process: for side-by-side measurements and tests. */
export function useFusedLayers(on: boolean): void {
  enabled = on;
}

/** Whether the layers run fused on `backend`: on wasm, with our kernels registered. */
export function fusedLayersActive(backend: string): boolean {
  return enabled && backend === 'wasm' && tf.getKernel(LSTM_FORWARD, 'wasm') != null;
}

function lastRows(x: tf.Tensor2D, rows: number): tf.Tensor2D {
  return tf.slice(x, [x.shape[0] - rows, 0], [rows, x.shape[1]]);
}

/** h_{t-1} of every step, (T*B, H): h0 (B, H), then hs (T*B, H) without its last step. */
function previousStates(h0: tf.Tensor2D, hs: tf.Tensor2D, batch: number): tf.Tensor2D {
  const rows = hs.shape[0] - batch;
  return rows > 0 ? tf.concat([h0, tf.slice(hs, [0, 0], [rows, hs.shape[1]])], 0) : h0;
}

/** Evaluation and sampling: nothing is kept for a backward. */
export function fusedLstmForward(zIn: tf.Tensor2D, U: tf.Tensor2D, [h0, c0]: RecurrentState): LayerOutput {
  const [hs, c] = tf.engine().runKernel(LSTM_FORWARD, { zIn, U, h0, c0 }, { keepAll: false }) as tf.Tensor2D[];
  return { hs, final: [lastRows(hs, h0.shape[0]), c] };
}

/**
 * Training: hs is differentiable with respect to zIn, U and the initial state (whose
 * gradient is what the backward carries past step 0); the final state is kept and is
 * not differentiable (the caller disposes it), as in lstmSequence.
 */
export function fusedLstmSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const batch = initial[0].shape[0];
  let final: RecurrentState | undefined;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, c0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const [hs, cs, gates] = tf.engine().runKernel(LSTM_FORWARD, { zIn: zInT, U: UT, h0, c0 }, { keepAll: true }) as tf.Tensor2D[];
    final = [tf.keep(lastRows(hs, batch)), tf.keep(lastRows(cs, batch))];
    save([UT, h0, c0, hs, cs, gates]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const [Ukept, h0Kept, c0Kept, hsKept, csKept, gatesKept] = saved as tf.Tensor2D[];
        const [dZ, dh0, dc0] = tf
          .engine()
          .runKernel(LSTM_BACKWARD, { dHs: dy as tf.Tensor2D, gates: gatesKept, cs: csKept, c0: c0Kept, U: Ukept }) as tf.Tensor2D[];
        const dU = recurrentKernelGradient(dZ, previousStates(h0Kept, hsKept, batch));
        tf.dispose(saved); // their one use: the tape would keep them until the whole gradient is done
        return [dZ, dU, dh0, dc0];
      });
    tf.dispose([cs, gates]); // save keeps clones of them
    return { value: hs, gradFunc };
  });
  const hs = run(zIn, U, ...initial) as tf.Tensor2D;
  return { hs, final: final! };
}

/** One sampling step's cell from z (B, 4H) = x·W + h·U + b and c (B, H): the new [h, c], as lstmCell's. */
export function fusedLstmCell(z: tf.Tensor2D, c: tf.Tensor2D): RecurrentState {
  return tf.engine().runKernel(LSTM_CELL, { z, c }) as tf.Tensor2D[];
}

/** The vanilla RNN's forward, for evaluation: nothing is kept for a backward. */
export function fusedRnnForward(zIn: tf.Tensor2D, U: tf.Tensor2D, [h0]: RecurrentState): LayerOutput {
  const hs = tf.engine().runKernel(RNN_FORWARD, { zIn, U, h0 }) as tf.Tensor2D;
  return { hs, final: [lastRows(hs, h0.shape[0])] };
}

/** The vanilla RNN for training: as fusedLstmSequence, with the initial h's gradient only. */
export function fusedRnnSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const batch = initial[0].shape[0];
  let final: RecurrentState | undefined;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const hs = tf.engine().runKernel(RNN_FORWARD, { zIn: zInT, U: UT, h0 }) as tf.Tensor2D;
    final = [tf.keep(lastRows(hs, batch))];
    save([UT, h0, hs]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const [Ukept, h0Kept, hsKept] = saved as tf.Tensor2D[];
        const [dZ, dh0] = tf.engine().runKernel(RNN_BACKWARD, { dHs: dy as tf.Tensor2D, hs: hsKept, U: Ukept }, { batch }) as tf.Tensor2D[];
        const dU = recurrentKernelGradient(dZ, previousStates(h0Kept, hsKept, batch));
        tf.dispose(saved);
        return [dZ, dU, dh0];
      });
    return { value: hs, gradFunc };
  });
  const hs = run(zIn, U, initial[0]) as tf.Tensor2D;
  return { hs, final: final! };
}

/** The GRU's forward, for evaluation: nothing is kept for a backward. */
export function fusedGruForward(zIn: tf.Tensor2D, U: tf.Tensor2D, [h0]: RecurrentState): LayerOutput {
  const [hs] = tf.engine().runKernel(GRU_FORWARD, { zIn, U, h0 }, { keepAll: false }) as tf.Tensor2D[];
  return { hs, final: [lastRows(hs, h0.shape[0])] };
}

/** The GRU for training: as fusedLstmSequence, with the initial h's gradient only. */
export function fusedGruSequence(zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState): LayerOutput {
  const [batch, H] = initial[0].shape;
  let final: RecurrentState | undefined;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zInT, UT, h0, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const [hs, gates, rhs] = tf.engine().runKernel(GRU_FORWARD, { zIn: zInT, U: UT, h0 }, { keepAll: true }) as tf.Tensor2D[];
    final = [tf.keep(lastRows(hs, batch))];
    save([UT, h0, hs, gates, rhs]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const [Ukept, h0Kept, hsKept, gatesKept, rhsKept] = saved as tf.Tensor2D[];
        const [dZ, dh0] = tf
          .engine()
          .runKernel(GRU_BACKWARD, { dHs: dy as tf.Tensor2D, gates: gatesKept, hs: hsKept, h0: h0Kept, U: Ukept }) as tf.Tensor2D[];
        // The blocks' left operands differ: h_{t-1} for the update and reset columns, r∘h_{t-1} for the candidate's.
        const [dZzr, dZh] = tf.split(dZ, [2 * H, H], 1) as tf.Tensor2D[];
        const dU = tf.concat(
          [recurrentKernelGradient(dZzr, previousStates(h0Kept, hsKept, batch)), recurrentKernelGradient(dZh, rhsKept)],
          1,
        );
        tf.dispose(saved);
        return [dZ, dU, dh0];
      });
    tf.dispose([gates, rhs]); // save keeps clones of them
    return { value: hs, gradFunc };
  });
  const hs = run(zIn, U, initial[0]) as tf.Tensor2D;
  return { hs, final: final! };
}

/**
 * One sampling step's GRU from szr (B, 2H), the update and reset pre-activations, xh (B, H),
 * the candidate's input part, Uh (H, H) and h (B, H): the new h, as gruCell's.
 */
export function fusedGruCell(szr: tf.Tensor2D, xh: tf.Tensor2D, Uh: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(GRU_CELL, { szr, xh, Uh, h }) as tf.Tensor2D;
}

/**
 * StepProjection's z = x·W + h·U + b (B, G·H) in one kernel call, its weights packed for our
 * GEMM once: layer 0 a row of E = W + b (V, G·H) plus h·U, above b + x·W + h·U (two products,
 * no concat). The same sums as StepProjection's in another order (b first, our GEMM's
 * blocking, not XNNPACK's): within float32 rounding of it, not bit-identical.
 */
class FusedStepProjection implements StepProjector {
  private readonly table: tf.Tensor2D | null; // layer 0: E (V, G·H)
  private readonly packedW: tf.Tensor1D | null; // above: W packed
  private readonly packedU: tf.Tensor1D | null;
  private readonly bias: tf.Tensor1D | null; // above: b (G·H)
  private readonly N: number;

  constructor(layer: number, W: tf.Tensor2D, U: tf.Tensor2D | null, b: tf.Tensor1D) {
    const pack = (w: tf.Tensor2D) => tf.engine().runKernel(PACK, { w }) as tf.Tensor1D;
    this.N = W.shape[1];
    this.table = layer === 0 ? (tf.add(W, b) as tf.Tensor2D) : null;
    this.packedW = layer === 0 ? null : pack(W);
    this.bias = layer === 0 ? null : tf.clone(b);
    this.packedU = U ? pack(U) : null;
  }

  apply(input: tf.Tensor, h: tf.Tensor2D): tf.Tensor2D {
    const inputs: tf.NamedTensorMap = { x: input };
    if (this.table) inputs.table = this.table;
    if (this.packedW) inputs.packedW = this.packedW;
    if (this.bias) inputs.b = this.bias;
    if (this.packedU) Object.assign(inputs, { h, packedU: this.packedU });
    return tf.engine().runKernel(STEP_PROJECTION, inputs, { N: this.N }) as tf.Tensor2D;
  }

  dispose(): void {
    tf.dispose([this.table, this.packedW, this.packedU, this.bias].filter((t) => t !== null));
  }
}

/** The step projections sampling uses on the current backend: one kernel call each where the fused layers run. */
export function stepProjectorFactory(): StepProjectorFactory {
  return fusedLayersActive(tf.getBackend()) ? (layer, W, U, b) => new FusedStepProjection(layer, W, U, b) : stepProjection;
}

/** Sampling's whole step on wasm (wasm/sample.ts): one call into our module per character, for the model's `cell`, on `threads` threads. */
export function fusedModelStep(cell: WholeStepCell): (weights: tf.Tensor[], initial: RecurrentState[], threads?: number) => ModelStepper {
  return (weights, initial, threads = 1) =>
    threads > 1
      ? new ColumnSplitModelStep(cell, weights, initial, threads)
      : new WasmModelStep(asWasm(tf.backend()), cell, weights, initial);
}
