/**
 * The character model: one-hot input → L stacked recurrent layers (LSTM, GRU or vanilla
 * RNN, see cells/) → linear → softmax.
 *
 * Weights are laid out as a Keras/tfjs LSTM/GRU/SimpleRNN stack expects them, so a
 * checkpoint is a loadable tfjs layers model. With G gates per cell (4, 3, 1):
 *   layer l: kernel W (D, G·H) with D = V for l = 0 and H above; recurrent_kernel U (H, G·H); bias b (G·H)
 *   output:  kernel Wy (H, V), bias by (V)
 *   --learned-init only, last: per layer one (H) vector per state tensor of the cell: initial_h, and initial_c for an LSTM
 * For one-hot input, x·W is a row lookup, so layer 0's projection is a gather.
 */
import * as tf from '../tf.js';
import { cellKernels, zeroState, type RecurrentCell, type RecurrentState } from '../cells/cell.js';
import { CELLS, isCellType, type CellType } from '../cells/registry.js';
import { crossEntropy } from './cross-entropy.js';
import { attachInitialState, detached } from './learned-init.js';
import { Rng } from '../rng.js';

export interface ModelConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  /** Dropout rate applied to each recurrent layer's output while training (0 = off). */
  dropout: number;
  /** The recurrent cell of every layer. */
  cell: CellType;
  /** Each layer starts from a trained state instead of zeros (learned-init.ts). */
  learnedInit: boolean;
}

export interface ForwardOptions {
  /** Present while training: enables dropout, seeded for reproducibility. */
  dropoutSeed?: number;
  /** Differentiate the recurrent layers with tfjs autodiff instead of the hand-written backward (for tests). */
  autodiff?: boolean;
}

export interface NamedWeight {
  name: string;
  tensor: tf.Tensor;
}

interface LayerWeights {
  kernel: tf.Variable<tf.Rank.R2>;
  recurrentKernel: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
}

export class CharModel {
  readonly config: ModelConfig;

  private constructor(
    config: ModelConfig,
    private readonly layers: LayerWeights[],
    private readonly outKernel: tf.Variable<tf.Rank.R2>,
    private readonly outBias: tf.Variable<tf.Rank.R1>,
    /** Per layer, with --learned-init: the learned initial state, one (H) vector per state tensor. */
    private readonly initial: tf.Variable<tf.Rank.R1>[][],
  ) {
    if (!isCellType(config.cell)) throw new Error(`unknown cell type ${JSON.stringify(config.cell)}`);
    this.config = { ...config };
  }

  /**
   * Fresh weights, uniform in ±1/√H as PyTorch initialises its recurrent layers; biases
   * from the cell (an LSTM's forget-gate bias is 1); learned initial states start at 0.
   */
  static create(config: ModelConfig, seed: number): CharModel {
    const { vocabSize: V, hidden: H } = config;
    const cell = CELLS[config.cell];
    const G = cell.gates * H;
    const rng = new Rng(seed);
    const limit = 1 / Math.sqrt(H);
    const uniform = (shape: number[]) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let k = 0; k < values.length; k++) values[k] = rng.uniform(limit);
      return tf.tensor(values, shape);
    };
    const tensors: tf.Tensor[] = [];
    for (let l = 0; l < config.layers; l++) {
      tensors.push(uniform([l === 0 ? V : H, G]), uniform([H, G]), tf.tensor1d(cell.initialBias(H)));
    }
    tensors.push(uniform([H, V]), uniform([V]));
    for (const spec of weightSpecs(config).slice(tensors.length)) tensors.push(tf.zeros(spec.shape));
    return CharModel.fromTensors(config, tensors);
  }

  /** Takes ownership of `tensors`, in the order of `weightSpecs(config)`. */
  static fromTensors(config: ModelConfig, tensors: tf.Tensor[]): CharModel {
    const specs = weightSpecs(config);
    if (tensors.length !== specs.length) throw new Error(`expected ${specs.length} weight tensors, got ${tensors.length}`);
    const variables = tensors.map((t, k) => {
      if (!tf.util.arraysEqual(t.shape, specs[k].shape)) {
        throw new Error(`weight ${specs[k].name} has shape [${t.shape}], expected [${specs[k].shape}]`);
      }
      const v = tf.variable(t, true); // unnamed: tfjs variable names must be unique per process
      t.dispose();
      return v;
    });
    const layers: LayerWeights[] = [];
    for (let l = 0; l < config.layers; l++) {
      const [kernel, recurrentKernel, bias] = variables.slice(3 * l, 3 * l + 3);
      layers.push({
        kernel: kernel as tf.Variable<tf.Rank.R2>,
        recurrentKernel: recurrentKernel as tf.Variable<tf.Rank.R2>,
        bias: bias as tf.Variable<tf.Rank.R1>,
      });
    }
    const [outKernel, outBias, ...rest] = variables.slice(3 * config.layers);
    const starts = rest as tf.Variable<tf.Rank.R1>[];
    const perLayer = starts.length / config.layers; // 0 without --learned-init
    const initial = Array.from({ length: perLayer > 0 ? config.layers : 0 }, (_, l) => starts.slice(perLayer * l, perLayer * (l + 1)));
    return new CharModel(config, layers, outKernel as tf.Variable<tf.Rank.R2>, outBias as tf.Variable<tf.Rank.R1>, initial);
  }

  /**
   * A copy for a vocabulary with `extra` characters appended (fine-tuning on a text with
   * new characters): their rows of the input kernel and their output columns start as a
   * fresh model's would; every other weight is kept.
   */
  withExtraCharacters(extra: number, seed: number): CharModel {
    const V = this.config.vocabSize;
    const config = { ...this.config, vocabSize: V + extra };
    const fresh = CharModel.create(config, seed);
    const tensors = tf.tidy(() =>
      this.variables.map((old, k) => {
        const init = fresh.variables[k];
        if (tf.util.arraysEqual(old.shape, init.shape)) return old.clone();
        // Layer 0's kernel (V, G·H) grows by rows; the output kernel (H, V) and bias (V) by columns.
        const axis = k === 0 ? 0 : old.rank - 1;
        const begin = old.shape.map((_, a) => (a === axis ? V : 0));
        const size = old.shape.map((d, a) => (a === axis ? extra : d));
        return tf.concat([old, tf.slice(init, begin, size)], axis);
      }),
    );
    fresh.dispose();
    return CharModel.fromTensors(config, tensors);
  }

  /** All trainable weights, in checkpoint order, with their Keras-style names. */
  get weights(): NamedWeight[] {
    const specs = weightSpecs(this.config);
    return this.variables.map((tensor, k) => ({ name: specs[k].name, tensor }));
  }

  get variables(): tf.Variable[] {
    return [...this.layers.flatMap((l) => [l.kernel, l.recurrentKernel, l.bias]), this.outKernel, this.outBias, ...this.initial.flat()];
  }

  get cell(): RecurrentCell {
    return CELLS[this.config.cell];
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /**
   * The state streams start from, per layer, B rows of each of the cell's state tensors:
   * zeros, or with --learned-init the learned initial state broadcast to B rows.
   */
  initialState(batch: number): RecurrentState[] {
    if (this.initial.length === 0) return this.layers.map(() => zeroState(this.cell, batch, this.config.hidden));
    return tf.tidy(() =>
      this.initial.map((vectors) => vectors.map((v) => detached(tf.tile(tf.expandDims(v, 0), [batch, 1]) as tf.Tensor2D))),
    );
  }

  /**
   * inputs (T*B) int32 character ids, time-major; state: the cell's (B, H) tensors per layer.
   * Returns logits (T*B, V) and the state after the last step (kept: the caller disposes it).
   */
  forward(inputs: tf.Tensor1D, state: RecurrentState[], options: ForwardOptions = {}): { logits: tf.Tensor2D; final: RecurrentState[] } {
    const training = options.dropoutSeed !== undefined;
    const run = options.autodiff
      ? this.cell.reference.forward
      : training
        ? cellKernels(this.cell).sequence
        : cellKernels(this.cell).forward;
    const final: RecurrentState[] = [];
    let x: tf.Tensor2D | null = null; // the previous layer's output, (T*B, H)
    this.layers.forEach((layer, l) => {
      const zIn = projectInput(x, inputs, layer);
      const { hs, final: layerFinal } = run(zIn, layer.recurrentKernel, this.startingFrom(state[l], l));
      // No gradient needs zIn's values, but a gradient tape would keep it (T·B·G·H floats) to the end.
      zIn.dispose();
      final.push(layerFinal.map((t) => tf.keep(t)));
      x =
        training && this.config.dropout > 0
          ? (tf.dropout(hs, this.config.dropout, undefined, options.dropoutSeed! + l) as tf.Tensor2D)
          : hs;
    });
    const logits = tf.add(tf.matMul(x!, this.outKernel), this.outBias) as tf.Tensor2D;
    return { logits, final };
  }

  /** With --learned-init, rows of `state` that are the learned initial state pass their gradient to it. */
  private startingFrom(state: RecurrentState, layer: number): RecurrentState {
    const init = this.initial[layer];
    return init ? state.map((s, k) => attachInitialState(s, init[k])) : state;
  }

  /** Mean cross-entropy in nats per character of predicting `targets` (T*B) from `inputs`. */
  loss(
    inputs: tf.Tensor1D,
    targets: tf.Tensor1D,
    state: RecurrentState[],
    options: ForwardOptions = {},
  ): { loss: tf.Scalar; final: RecurrentState[] } {
    const { logits, final } = this.forward(inputs, state, options);
    return { loss: crossEntropy(logits, targets), final };
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * A layer's input projection x·W + b for every step, (T*B, G·H). For one-hot input (x null,
 * layer 0) that is rows of W + b: a lookup, whose bias gradient sums V rows rather than T·B.
 */
function projectInput(x: tf.Tensor2D | null, ids: tf.Tensor1D, layer: LayerWeights): tf.Tensor2D {
  if (x === null) return tf.gather(tf.add(layer.kernel, layer.bias), ids) as tf.Tensor2D;
  const product = tf.matMul(x, layer.kernel);
  const zIn = tf.add(product, layer.bias) as tf.Tensor2D;
  product.dispose(); // as zIn: the add's gradient does not need it
  return zIn;
}

/**
 * Names and shapes of the weights, in order; names follow tfjs-layers so the checkpoint
 * loads there (learned initial states have no place in a Keras layer: see export).
 */
export function weightSpecs(config: ModelConfig): { name: string; shape: number[] }[] {
  const { vocabSize: V, hidden: H, cell: type, learnedInit } = config;
  const cell = CELLS[type];
  const G = cell.gates * H;
  const layerName = (l: number) => `${cell.keras.prefix}_${l + 1}`;
  const specs: { name: string; shape: number[] }[] = [];
  for (let l = 0; l < config.layers; l++) {
    specs.push(
      { name: `${layerName(l)}/kernel`, shape: [l === 0 ? V : H, G] },
      { name: `${layerName(l)}/recurrent_kernel`, shape: [H, G] },
      { name: `${layerName(l)}/bias`, shape: [G] },
    );
  }
  specs.push({ name: 'output/kernel', shape: [H, V] }, { name: 'output/bias', shape: [V] });
  if (learnedInit) {
    for (let l = 0; l < config.layers; l++) {
      for (const name of cell.state) specs.push({ name: `${layerName(l)}/initial_${name}`, shape: [H] });
    }
  }
  return specs;
}
