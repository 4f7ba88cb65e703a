/**
 * How much memory a run will need, worked out from its shapes before anything is
 * allocated, so that what cannot fit is refused at once with the estimate, instead of
 * failing minutes and gigabytes later inside WebAssembly (`RuntimeError: Aborted()`,
 * `memory access out of bounds`) or in V8 (`RangeError`).
 *
 * Training, in floats, with P parameters (the largest weight W), V characters, L layers
 * of H units, G gates (4 LSTM, 3 GRU, 1 RNN), B streams, b = ⌈B / threads⌉ of them on a
 * thread, and N = seq · streams characters:
 *   main thread   7P + 4·L·B·H   weights, Adam's two moments, the rollback copy of all
 *                                three, the gradients; carried state and its rollback copy
 *                 + the largest of
 *                   a step's activations (b streams)   L·N·H·a + 13·N·V
 *                     a = 14.5 LSTM, 13.5 GRU, 5.5 RNN: what the fused layers keep for
 *                     their backward, outputs, dropout masks and gradients; logits,
 *                     one-hot targets, softmax and their gradients
 *                   a validation (B streams, forward only)   L·N·H·e + 8·N·V + V·G·H
 *                     e = 4 LSTM, 3 GRU, 2 RNN
 *                   Adam's temporaries for one weight   12·W
 *   each worker   2P + a step's activations (its copy of the weights, its gradients)
 *   shared        2P per worker (weights, gradients)
 * The coefficients were fitted to tf.profile's peaks on the wasm backend, of the steps and
 * of the validation apart (`node scripts/memory-estimate.mjs` prints both), and the script
 * holds the estimate to the measured peak on eleven shapes (LSTM, GRU, RNN; 1×1024; 1×32
 * and 2×128 over 41,056 characters): between 0.3% under and 5% over.
 * tfjs-backend-wasm gives each thread one heap of at most
 * 4 GB, and the heap fragments (it was 1.1–1.2× the peak): 3 GB of tensors is the most
 * we let one thread plan for. All threads together must fit in the machine's memory.
 */
import * as tf from '../tf.js';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { CELLS, type CellType } from '../cells/registry.js';
import { UserError } from '../errors.js';
import { weightSpecs, type ModelConfig } from '../model/model.js';

/** The most tensor memory one wasm thread may plan for: 3/4 of its 4 GB heap (see above). */
export const WASM_TENSOR_LIMIT = 3 * 2 ** 30;

const FLOAT = 4;
/** Floats per character per hidden unit a layer holds while training (a above) and while validating (e). */
const TRAIN_PER_UNIT: Record<CellType, number> = { lstm: 14.5, gru: 13.5, rnn: 5.5 };
const EVAL_PER_UNIT: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 2 };

export interface MemoryEstimate {
  /** The busiest thread's tensors: what one wasm heap must hold. */
  perThreadBytes: number;
  /** Every thread's tensors, shared buffers and JS-side results together. */
  totalBytes: number;
  /** What lives in V8's own heap (results kept as JS values), which has a limit of its own. */
  jsHeapBytes: number;
}

export interface TrainingShape {
  seq: number;
  batch: number;
  threads: number;
}

export function estimateTrainingMemory(model: ModelConfig, { seq, batch, threads }: TrainingShape): MemoryEstimate {
  const { vocabSize: V, hidden: H, layers: L, cell } = model;
  const G = CELLS[cell].gates;
  const sizes = weightSpecs(model).map(({ shape }) => shape.reduce((a, b) => a * b, 1));
  const P = sizes.reduce((a, b) => a + b, 0);
  const step = (streams: number) => L * seq * streams * H * TRAIN_PER_UNIT[cell] + 13 * seq * streams * V;
  const validation = L * seq * batch * H * EVAL_PER_UNIT[cell] + 8 * seq * batch * V + V * G * H;
  const shard = Math.ceil(batch / threads);
  const main = 7 * P + 4 * L * batch * H + Math.max(step(shard), validation, 12 * Math.max(...sizes));
  const worker = 2 * P + step(shard);
  return { perThreadBytes: main * FLOAT, totalBytes: (main + (threads - 1) * (worker + 2 * P)) * FLOAT, jsHeapBytes: 0 };
}

/**
 * Sampling `streams` streams together for `length` characters: the weights (copied once
 * more by the stepper), each layer's state and gate pre-activations, the logits, and on
 * the JS side each sample's text and per-character log-probability.
 */
export function estimateSamplingMemory(model: ModelConfig, streams: number, length: number): MemoryEstimate {
  const { vocabSize: V, hidden: H, layers: L, cell } = model;
  const G = CELLS[cell].gates;
  const P = weightSpecs(model).reduce((n, { shape }) => n + shape.reduce((a, b) => a * b, 1), 0);
  const tensors = (2 * P + L * streams * H * (4 + 2 * G) + 3 * streams * V) * FLOAT;
  // A double and a UTF-16 unit per character, and a few hundred bytes per sample (its object, random state, settings).
  const results = streams * (length * (8 + 2) + 300);
  return { perThreadBytes: tensors, totalBytes: tensors + results, jsHeapBytes: results };
}

/**
 * Refuses (exit 2) what cannot fit: a wasm thread's tensors above WASM_TENSOR_LIMIT, JS
 * values above V8's heap limit, or more than the machine's memory in all. `what` describes the run for the message.
 */
export function assertMemoryFits(estimate: MemoryEstimate, what: string, hint: string, backend = tf.getBackend()): void {
  const machine = totalmem();
  if (backend === 'wasm' && estimate.perThreadBytes > WASM_TENSOR_LIMIT) {
    throw new UserError(
      `${what} needs about ${gigabytes(estimate.perThreadBytes)} on one thread, ` +
        `more than the ${gigabytes(WASM_TENSOR_LIMIT)} of WebAssembly's 4 GB heap it can use; ${hint}`,
    );
  }
  const jsHeap = getHeapStatistics().heap_size_limit;
  if (estimate.jsHeapBytes > jsHeap) {
    throw new UserError(
      `${what} needs about ${gigabytes(estimate.jsHeapBytes)} of JavaScript heap, more than Node's ${gigabytes(jsHeap)}; ${hint}`,
    );
  }
  if (estimate.totalBytes > machine) {
    throw new UserError(
      `${what} needs about ${gigabytes(estimate.totalBytes)}, more than this machine's ${gigabytes(machine)} of memory; ${hint}`,
    );
  }
}

function gigabytes(bytes: number): string {
  const gb = bytes / 2 ** 30;
  return gb >= 100 ? `${Math.round(gb).toLocaleString('en-US')} GB` : `${gb.toPrecision(2)} GB`;
}
