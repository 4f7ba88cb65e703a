/**
 * The next-character distribution in plain numbers: temperature, top-k, top-p (nucleus),
 * and drawing from it. The vocabulary is small (tens to a few hundred symbols), so this
 * runs in JavaScript on one row of logits (V) read back from the model once per step.
 *
 * Order: logits / temperature → softmax → keep the top k → keep the top p of what is
 * left (renormalised) → draw. Temperature 0 means the likeliest character (argmax), and
 * then top-k and top-p change nothing.
 */
import type { Distribution } from './options.js';

/** softmax(logits / temperature) in float64; temperature > 0. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const out = new Float64Array(logits.length);
  let max = -Infinity;
  for (let k = 0; k < logits.length; k++) if (logits[k] > max) max = logits[k];
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += out[k] = Math.exp((logits[k] - max) / temperature);
  for (let k = 0; k < out.length; k++) out[k] /= sum;
  return out;
}

/** ln softmax(logits)[index] at temperature 1: the log-probability the model itself gives `index`. */
export function logProbability(logits: ArrayLike<number>, index: number): number {
  let max = -Infinity;
  for (let k = 0; k < logits.length; k++) if (logits[k] > max) max = logits[k];
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k] - max);
  return Math.min(0, logits[index] - max - Math.log(sum));
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** Indices from the likeliest down; ties keep the lower index first, so the order is deterministic. */
function byDescendingProbability(probs: Float64Array): number[] {
  return Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
}

function keepOnly(probs: Float64Array, kept: number[]): Float64Array {
  const out = new Float64Array(probs.length);
  let sum = 0;
  for (const k of kept) sum += probs[k];
  for (const k of kept) out[k] = probs[k] / sum;
  return out;
}

/** Exactly the k likeliest entries (all if k ≥ V), renormalised; the rest 0. */
export function keepTopK(probs: Float64Array, k: number): Float64Array {
  if (k >= probs.length) return probs;
  return keepOnly(probs, byDescendingProbability(probs).slice(0, k));
}

/** The smallest set of likeliest entries whose mass is ≥ p, renormalised; the rest 0. */
export function keepTopP(probs: Float64Array, p: number): Float64Array {
  const order = byDescendingProbability(probs);
  let mass = 0;
  let count = 0;
  while (count < order.length && mass < p) mass += probs[order[count++]];
  return count === order.length ? probs : keepOnly(probs, order.slice(0, count));
}

/** The distribution the next character is drawn from (temperature > 0). */
export function nextCharDistribution(logits: ArrayLike<number>, options: Distribution): Float64Array {
  let probs = softmax(logits, options.temperature);
  if (options.topK !== null) probs = keepTopK(probs, options.topK);
  if (options.topP !== null) probs = keepTopP(probs, options.topP);
  return probs;
}

/** The index whose cumulative probability first exceeds `u` in [0, 1); never one of probability 0. */
export function drawIndex(probs: ArrayLike<number>, u: number): number {
  let cumulative = 0;
  let last = 0;
  for (let k = 0; k < probs.length; k++) {
    if (probs[k] === 0) continue;
    cumulative += probs[k];
    last = k;
    if (u < cumulative) return k;
  }
  return last; // rounding: u fell past the summed mass
}

/** Picks the next character: argmax at temperature 0, else one draw using `random()` once. */
export function pickIndex(logits: ArrayLike<number>, options: Distribution, random: () => number): number {
  if (options.temperature === 0) return argmax(logits);
  return drawIndex(nextCharDistribution(logits, options), random());
}
