/**
 * Adam (Kingma & Ba) with bias correction, written out rather than taken from
 * tf.train so that its moments, step count and learning rate are plain state we can
 * checkpoint and change between steps.
 */
import * as tf from '../tf.js';

export class Adam {
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  /** `moments`, if given (first moments then second, as `moments` returns them), are taken over. */
  constructor(
    private readonly params: tf.Variable[],
    moments?: { step: number; tensors: tf.Tensor[] },
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    const initial = moments?.tensors ?? [...params.map((p) => tf.zerosLike(p)), ...params.map((p) => tf.zerosLike(p))];
    const variables = initial.map((t) => tf.variable(t, false));
    tf.dispose(initial);
    this.m = variables.slice(0, params.length);
    this.v = variables.slice(params.length);
    this.step = moments?.step ?? 0;
  }

  /** First moments of every parameter, then second moments: the state a resume needs. */
  get moments(): tf.Variable[] {
    return [...this.m, ...this.v];
  }

  /** One update of every parameter with its gradient `grads[k]` times `gradScale` (gradient clipping). */
  apply(grads: tf.Tensor[], learningRate: number, gradScale = 1): void {
    this.step++;
    const { beta1, beta2, epsilon, step } = this;
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
    // A tidy per parameter: one tidy around them all held every parameter's temporaries
    // (~8 copies of the model) at once.
    this.params.forEach((param, k) => {
      tf.tidy(() => {
        const g = gradScale === 1 ? grads[k] : tf.mul(grads[k], gradScale);
        const m = tf.add(tf.mul(this.m[k], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[k], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[k].assign(m);
        this.v[k].assign(v);
        param.assign(tf.sub(param, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsilon)), stepSize)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
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
