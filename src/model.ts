/**
 * The character model: one-hot input → L stacked LSTM layers → linear → softmax.
 *
 * Weights are laid out as a Keras/tfjs LSTM stack expects them, so a checkpoint is a
 * loadable tfjs layers model:
 *   layer l: kernel W (D, 4H) with D = V for l = 0 and H above; recurrent_kernel U (H, 4H); bias b (4H)
 *   output:  kernel Wy (H, V), bias by (V)
 * For one-hot input, x·W is a row lookup, so layer 0's projection is a gather.
 */
import * as tf from '@tensorflow/tfjs';
import { lstmForward, lstmSequence, type LstmState } from './lstm.js';
import { Rng } from './rng.js';

export interface ModelConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  /** Dropout rate applied to each LSTM layer's output while training (0 = off). */
  dropout: number;
}

export interface ForwardOptions {
  /** Present while training: enables dropout, seeded for reproducibility. */
  dropoutSeed?: number;
  /** Differentiate the LSTM with tfjs autodiff instead of the hand-written backward (for tests). */
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
  private constructor(
    readonly config: ModelConfig,
    private readonly lstm: LayerWeights[],
    private readonly outKernel: tf.Variable<tf.Rank.R2>,
    private readonly outBias: tf.Variable<tf.Rank.R1>,
  ) {}

  /**
   * Fresh weights, uniform in ±1/√H as PyTorch initialises an LSTM; forget-gate bias 1
   * so that early on the cell remembers rather than forgets.
   */
  static create(config: ModelConfig, seed: number): CharModel {
    const { vocabSize: V, hidden: H } = config;
    const rng = new Rng(seed);
    const limit = 1 / Math.sqrt(H);
    const uniform = (shape: number[]) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let k = 0; k < values.length; k++) values[k] = rng.uniform(limit);
      return tf.tensor(values, shape);
    };
    const forgetBias = () => {
      const values = new Float32Array(4 * H);
      values.fill(1, H, 2 * H); // gate order i, f, g, o
      return tf.tensor1d(values);
    };
    const tensors: tf.Tensor[] = [];
    for (let l = 0; l < config.layers; l++) {
      tensors.push(uniform([l === 0 ? V : H, 4 * H]), uniform([H, 4 * H]), forgetBias());
    }
    tensors.push(uniform([H, V]), uniform([V]));
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
    const lstm: LayerWeights[] = [];
    for (let l = 0; l < config.layers; l++) {
      const [kernel, recurrentKernel, bias] = variables.slice(3 * l, 3 * l + 3);
      lstm.push({
        kernel: kernel as tf.Variable<tf.Rank.R2>,
        recurrentKernel: recurrentKernel as tf.Variable<tf.Rank.R2>,
        bias: bias as tf.Variable<tf.Rank.R1>,
      });
    }
    const [outKernel, outBias] = variables.slice(3 * config.layers);
    return new CharModel(config, lstm, outKernel as tf.Variable<tf.Rank.R2>, outBias as tf.Variable<tf.Rank.R1>);
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
        // Layer 0's kernel (V, 4H) grows by rows; the output kernel (H, V) and bias (V) by columns.
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
    return [...this.lstm.flatMap((l) => [l.kernel, l.recurrentKernel, l.bias]), this.outKernel, this.outBias];
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  zeroState(batch: number): LstmState[] {
    return this.lstm.map(() => ({
      h: tf.zeros([batch, this.config.hidden]) as tf.Tensor2D,
      c: tf.zeros([batch, this.config.hidden]) as tf.Tensor2D,
    }));
  }

  /**
   * inputs (T*B) int32 character ids, time-major; state: one (B, H) pair per layer.
   * Returns logits (T*B, V) and the state after the last step (kept: the caller disposes it).
   */
  forward(inputs: tf.Tensor1D, state: LstmState[], options: ForwardOptions = {}): { logits: tf.Tensor2D; final: LstmState[] } {
    const training = options.dropoutSeed !== undefined;
    const final: LstmState[] = [];
    let x: tf.Tensor2D | null = null; // the previous layer's output, (T*B, H)
    this.lstm.forEach((layer, l) => {
      const projected = x === null ? tf.gather(layer.kernel, inputs) : tf.matMul(x, layer.kernel);
      const zIn = tf.add(projected, layer.bias) as tf.Tensor2D;
      const run = training && !options.autodiff ? lstmSequence : lstmForward;
      const { hs, final: layerFinal } = run(zIn, layer.recurrentKernel, state[l]);
      final.push({ h: tf.keep(layerFinal.h), c: tf.keep(layerFinal.c) });
      x = training && this.config.dropout > 0 ? (tf.dropout(hs, this.config.dropout, undefined, options.dropoutSeed! + l) as tf.Tensor2D) : hs;
    });
    const logits = tf.add(tf.matMul(x!, this.outKernel), this.outBias) as tf.Tensor2D;
    return { logits, final };
  }

  /** Mean cross-entropy in nats per character of predicting `targets` (T*B) from `inputs`. */
  loss(inputs: tf.Tensor1D, targets: tf.Tensor1D, state: LstmState[], options: ForwardOptions = {}): { loss: tf.Scalar; final: LstmState[] } {
    const { logits, final } = this.forward(inputs, state, options);
    const labels = tf.oneHot(targets, this.config.vocabSize);
    return { loss: tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar, final };
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** Names and shapes of the weights, in order; names follow tfjs-layers so the checkpoint loads there. */
export function weightSpecs(config: ModelConfig): { name: string; shape: number[] }[] {
  const { vocabSize: V, hidden: H } = config;
  const specs: { name: string; shape: number[] }[] = [];
  for (let l = 0; l < config.layers; l++) {
    const layer = `lstm_${l + 1}`;
    specs.push(
      { name: `${layer}/kernel`, shape: [l === 0 ? V : H, 4 * H] },
      { name: `${layer}/recurrent_kernel`, shape: [H, 4 * H] },
      { name: `${layer}/bias`, shape: [4 * H] },
    );
  }
  specs.push({ name: 'output/kernel', shape: [H, V] }, { name: 'output/bias', shape: [V] });
  return specs;
}
