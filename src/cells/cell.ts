/**
 * What a recurrent cell brings to the model (`--cell`): one file per cell implements
 * `RecurrentCell`, and registry.ts lists them. Nothing outside src/cells/ knows which
 * cell it runs.
 *
 * Shapes: T steps, B streams, H hidden units, G gates (the cell's pre-activation
 * columns per hidden unit), D the layer's input width (V for layer 0, H above).
 *   W (D, G·H), U (H, G·H), b (G·H)   a layer's kernel, recurrent kernel and bias,
 *                                      laid out as the cell's Keras layer expects them
 *   zIn (T*B, G·H)                    the input projection x·W + b of every step, time-major
 *                                      (row t*B + b is step t of stream b), computed by the
 *                                      caller in one gather or matMul before the time loop
 *   state: (B, H) tensors, h first    what the cell carries from step to step
 *   hs (T*B, H)                       the layer's output h after every step
 */
import * as tf from '../tf.js';

/** One layer's carried state: the cell's (B, H) tensors, named by `RecurrentCell.state`; h, the layer's output, first. */
export type RecurrentState = tf.Tensor2D[];

export interface LayerOutput {
  hs: tf.Tensor2D; // (T*B, H)
  final: RecurrentState;
}

/** A layer over a whole window: zIn (T*B, G·H), U (H, G·H), the state it starts from → every step's h and the final state. */
export type LayerRun = (zIn: tf.Tensor2D, U: tf.Tensor2D, initial: RecurrentState) => LayerOutput;

/**
 * One layer stepped one character at a time (sampling), with its own copy of the
 * weights, combined once when it is made.
 */
export interface LayerStepper {
  /** input: layer 0 the character ids (B) int32, above the layer below's new h (B, H) → the new state. */
  step(input: tf.Tensor, state: RecurrentState): RecurrentState;
  dispose(): void;
}

export interface CellKernels {
  /** Evaluation and sampling's prime; differentiated by tfjs autodiff, the reference for `sequence`'s backward. */
  forward: LayerRun;
  /**
   * Training: hs is differentiable with respect to zIn, U and the initial state through
   * a hand-written backward; the final state is kept (it survives the caller's tidy), is
   * not differentiable, and the caller disposes it.
   */
  sequence: LayerRun;
  /** layer l's stepper from its W (D, G·H), U (H, G·H), b (G·H). */
  stepper(layer: number, W: tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D): LayerStepper;
  /**
   * Sampling's whole model step (every layer and the output layer) in one call, where a
   * backend has one: from the model's weights in checkpoint order and the state B streams
   * start from (copied: later changes to either are not seen), its work shared out
   * between `threads` threads (default 1).
   */
  modelStep?(weights: tf.Tensor[], initial: RecurrentState[], threads?: number): ModelStepper;
}

/** B streams of a whole model stepped one character each at a time. */
export interface ModelStepper {
  readonly batch: number;
  readonly vocabSize: number;
  /**
   * Feeds one character id per stream, ids (B), and returns the next-character logits (B·V,
   * row b for stream b), which may be the stepper's own buffer: valid until the next step.
   */
  step(ids: Int32Array): Float32Array;
  dispose(): void;
}

export interface RecurrentCell {
  /** Pre-activation columns per hidden unit (G): kernels are (D, G·H). */
  gates: number;
  /** Names of the state's tensors, h first; a learned initial state (--learned-init) has one vector per name, `initial_<name>`. */
  state: readonly string[];
  /** The bias's starting values (G·H). */
  initialBias(H: number): Float32Array;
  /** The op-by-op kernels: they run on every backend, and are what any fused kernel is tested against. */
  reference: CellKernels;
  /**
   * Faster kernels the cell may bring for a tfjs backend (by name, e.g. 'wasm'), with
   * the reference's contract; it decides whether they are available (say, registered).
   */
  fused?(backend: string): Partial<CellKernels> | undefined;
  /** tfjs-layers class name, the layer-name prefix tfjs gives it (weight names follow: lstm_1/kernel), and its config. */
  keras: { className: string; prefix: string; config: object };
  /** The torch.nn module whose weights ours are (export/torch-state-dict.ts), or why there is none. */
  torch: { module: 'LSTM' | 'RNN' } | { unsupported: string };
}

/** The kernels `cell` runs on the current backend: its fused ones where it brings them, the reference otherwise. */
export function cellKernels(cell: RecurrentCell): CellKernels {
  const fused = cell.fused?.(tf.getBackend());
  return fused ? { ...cell.reference, ...fused } : cell.reference;
}

/** Zeros for a layer's state, B streams. */
export function zeroState(cell: RecurrentCell, batch: number, H: number): RecurrentState {
  return cell.state.map(() => tf.zeros([batch, H]) as tf.Tensor2D);
}

export function disposeState(state: RecurrentState[]): void {
  tf.dispose(state.flat());
}

/** One step's z = x·W + h·U + b (B, G·H): input ids (B) int32 for layer 0, else the layer below's h (B, H). */
export interface StepProjector {
  apply(input: tf.Tensor, h: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Makes a layer's StepProjector from W (D, G·H), U (H, G·H) or none, b (G·H). */
export type StepProjectorFactory = (layer: number, W: tf.Tensor2D, U: tf.Tensor2D | null, b: tf.Tensor1D) => StepProjector;

export const stepProjection: StepProjectorFactory = (layer, W, U, b) => new StepProjection(layer, W, U, b);

/**
 * x·W + h·U + b for one step, with the weights combined once: layer 0's one-hot input
 * makes x·W + b a row lookup in E = W + b (V, G·H); above, [x, h]·[W; U] + b is one
 * matMul, (B, 2H)·(2H, G·H). Without U, x·W + b alone. Plain matMul + add rather than
 * tf.fused.matMul: on wasm the fused op's extra reshapes and gradient wrapper made a
 * sampling step about 20% slower at batch 1.
 */
export class StepProjection implements StepProjector {
  private readonly withRecurrence: boolean;
  private readonly input: tf.Tensor2D; // layer 0: E (V, G·H); above: [W; U] (2H, G·H), or W (H, G·H) without U
  private readonly recurrent: tf.Tensor2D | null; // layer 0 only: U (H, G·H)
  private readonly bias: tf.Tensor1D | null; // above layer 0 only: b (G·H)

  constructor(layer: number, W: tf.Tensor2D, U: tf.Tensor2D | null, b: tf.Tensor1D) {
    this.withRecurrence = U !== null;
    const first = layer === 0;
    this.input = first ? (tf.add(W, b) as tf.Tensor2D) : U ? tf.concat([W, U], 0) : tf.clone(W);
    this.recurrent = first && U ? tf.clone(U) : null;
    this.bias = first ? null : tf.clone(b);
  }

  /** input: ids (B) int32 for layer 0, else the layer below's h (B, H); h (B, H) → (B, G·H). */
  apply(input: tf.Tensor, h: tf.Tensor2D): tf.Tensor2D {
    if (this.bias === null) {
      const rows = tf.gather(this.input, input);
      return (this.recurrent ? tf.add(tf.matMul(h, this.recurrent), rows) : rows) as tf.Tensor2D;
    }
    const x = (this.withRecurrence ? tf.concat([input, h], 1) : input) as tf.Tensor2D;
    return tf.add(tf.matMul(x, this.input), this.bias) as tf.Tensor2D;
  }

  dispose(): void {
    tf.dispose([this.input, this.recurrent, this.bias].filter((t) => t !== null));
  }
}

/** A stepper whose cell needs only z = x·W + h·U + b (B, G·H) and the state: `activate` gives the new state. */
export function projectedStepper(
  layer: number,
  W: tf.Tensor2D,
  U: tf.Tensor2D,
  b: tf.Tensor1D,
  activate: (z: tf.Tensor2D, state: RecurrentState) => RecurrentState,
  project: StepProjectorFactory = stepProjection,
): LayerStepper {
  const projection = project(layer, W, U, b);
  return { step: (input, state) => activate(projection.apply(input, state[0]), state), dispose: () => projection.dispose() };
}
