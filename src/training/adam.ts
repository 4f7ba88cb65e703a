/**
 * Adam (Kingma & Ba) with bias correction, written out rather than taken from
 * tf.train so that its moments, step count and learning rate are plain state we can
 * checkpoint and change between steps.
 */
import * as tf from '../tf.js';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../backend/wasm-kernels/adam.js';

export class Adam {
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  /** β1, β2 and ε as tensors, made once: a number in an op is a new tensor, an upload to the device, on every call. */
  private readonly constants: { beta1: tf.Scalar; beta2: tf.Scalar; epsilon: tf.Scalar };

  private readonly beta1 = 0.9;
  private readonly beta2: number;
  private readonly epsilon = 1e-8;

  /** `moments`, if given (first moments then second, as `moments` returns them), are taken over; β2 is --beta2. */
  constructor(
    private readonly params: tf.Variable[],
    { beta2 = 0.999, moments }: { beta2?: number; moments?: { step: number; tensors: tf.Tensor[] } } = {},
  ) {
    this.beta2 = beta2;
    const initial = moments?.tensors ?? [...params.map((p) => tf.zerosLike(p)), ...params.map((p) => tf.zerosLike(p))];
    const variables = initial.map((t) => tf.variable(t, false));
    tf.dispose(initial);
    this.m = variables.slice(0, params.length);
    this.v = variables.slice(params.length);
    this.step = moments?.step ?? 0;
    this.constants = { beta1: tf.scalar(this.beta1), beta2: tf.scalar(beta2), epsilon: tf.scalar(this.epsilon) };
  }

  /** First moments of every parameter, then second moments: the state a resume needs. */
  get moments(): tf.Variable[] {
    return [...this.m, ...this.v];
  }

  /**
   * One update of every parameter with its gradient `grads[k]` times `gradScale` (gradient
   * clipping). The scale is folded into the moments' factors, so clipping adds no op:
   *   m ← β1·m + ((1−β1)·s)·g      v ← β2·v + ((1−β2)·s²)·g²      p ← p − α·m / (√v + ε)
   * On wasm one kernel per parameter (src/backend/wasm-kernels/adam.ts: one pass, the same
   * float32 results); elsewhere 12 kernels per parameter, and three scalars uploaded per step.
   */
  apply(grads: tf.Tensor[], learningRate: number, gradScale = 1): void {
    this.step++;
    const { beta1, beta2, step } = this;
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
    const gradFactor = (1 - beta1) * gradScale;
    const squareFactor = (1 - beta2) * gradScale * gradScale;
    if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) != null) {
      const attrs: AdamUpdateAttrs = { beta1, beta2, gradFactor, squareFactor, epsilon: this.epsilon, stepSize };
      this.params.forEach((param, k) => {
        const inputs = { p: param, m: this.m[k], v: this.v[k], g: grads[k] };
        const [p, m, v] = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        this.m[k].assign(m);
        this.v[k].assign(v);
        param.assign(p);
        tf.dispose([p, m, v]);
      });
      return;
    }
    this.applyOpByOp(grads, stepSize, gradFactor, squareFactor);
  }

  private applyOpByOp(grads: tf.Tensor[], stepSizeValue: number, gradFactorValue: number, squareFactorValue: number): void {
    const { constants } = this;
    const stepSize = tf.scalar(stepSizeValue);
    const gradFactor = tf.scalar(gradFactorValue);
    const squareFactor = tf.scalar(squareFactorValue);
    // A tidy per parameter: one tidy around them all held every parameter's temporaries
    // (~8 copies of the model) at once. For the same reason the update is not made over
    // one flat buffer of all parameters: that would save under 2% of a training step's
    // kernel launches (docs/native-fused-ops.md).
    this.params.forEach((param, k) => {
      tf.tidy(() => {
        const g = grads[k];
        const m = tf.add(tf.mul(this.m[k], constants.beta1), tf.mul(g, gradFactor));
        const v = tf.add(tf.mul(this.v[k], constants.beta2), tf.mul(tf.square(g), squareFactor));
        this.m[k].assign(m);
        this.v[k].assign(v);
        param.assign(tf.sub(param, tf.mul(tf.div(m, tf.add(tf.sqrt(v), constants.epsilon)), stepSize)));
      });
    });
    tf.dispose([stepSize, gradFactor, squareFactor]);
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v, ...Object.values(this.constants)]);
  }
}

/**
 * The factor that brings the gradients' global L2 norm down to at most `maxNorm` (1 when
 * it is already), and the norm. Adam.apply takes the factor: scaled copies of every
 * gradient would be one more copy of the model in memory.
 */
export function clipScale(grads: tf.Tensor[], maxNorm: number): { scale: number; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  return { scale: norm > maxNorm ? maxNorm / norm : 1, norm };
}
