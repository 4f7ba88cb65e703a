// The training loss, softmax cross-entropy of the logits against the target ids, and its
// gradient, each in one call over the (R, V) logits (R = T·B rows). tfjs's
// tf.losses.softmaxCrossEntropy takes ~20 kernels (one-hot labels, log-sum-exp, and a
// gradient for the labels too), three passes of exp among them.
//
//   forward   losses[r] = log Σ_v exp(logits[r, v]) − logits[r, targets[r]]
//             probs[r]  = softmax(logits[r]), kept for the backward
//   backward  dLogits[r] = dLosses[r] · (probs[r] − onehot(targets[r]))
// A target outside [0, V) has an all-zero one-hot row, as tf.oneHot makes it. Pointers are
// byte offsets; targets are int32.
import { exp4, fromSlot, slot, toSlot } from './simd';

export function crossEntropyForward(R: i32, V: i32, logits: usize, targets: usize, losses: usize, probs: usize): void {
  const row = <usize>V << 2;
  const vectorEnd = <usize>(V & ~3) << 2;
  const tail = V & 3;
  for (let r = 0; r < R; r++) {
    let max = load<f32>(logits);
    for (let v = 1; v < V; v++) max = Mathf.max(max, load<f32>(logits + (<usize>v << 2)));
    const shift = f32x4.splat(max);
    let sums = f32x4.splat(0);
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) {
      const e = exp4(f32x4.sub(v128.load(logits + j), shift));
      v128.store(probs + j, e);
      sums = f32x4.add(sums, e);
    }
    let sum = f32x4.extract_lane(sums, 0) + f32x4.extract_lane(sums, 1) + f32x4.extract_lane(sums, 2) + f32x4.extract_lane(sums, 3);
    if (tail > 0) {
      toSlot(logits + j, tail, 0);
      v128.store(slot(0), exp4(f32x4.sub(v128.load(slot(0)), shift)));
      fromSlot(0, probs + j, tail);
      for (let k = 0; k < tail; k++) sum += load<f32>(probs + j + (<usize>k << 2));
    }
    const sum4 = f32x4.splat(sum);
    for (j = 0; j < vectorEnd; j += 16) v128.store(probs + j, f32x4.div(v128.load(probs + j), sum4));
    for (; j < row; j += 4) store<f32>(probs + j, load<f32>(probs + j) / sum);
    const target = load<i32>(targets + (<usize>r << 2));
    const picked: f32 = target >= 0 && target < V ? load<f32>(logits + (<usize>target << 2)) : 0;
    store<f32>(losses + (<usize>r << 2), max + <f32>ln(<f64>sum) - picked);
    logits += row;
    probs += row;
  }
}

export function crossEntropyBackward(R: i32, V: i32, probs: usize, targets: usize, dLosses: usize, dLogits: usize): void {
  const row = <usize>V << 2;
  const vectorEnd = <usize>(V & ~3) << 2;
  for (let r = 0; r < R; r++) {
    const dy = load<f32>(dLosses + (<usize>r << 2));
    const dy4 = f32x4.splat(dy);
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) v128.store(dLogits + j, f32x4.mul(v128.load(probs + j), dy4));
    for (; j < row; j += 4) store<f32>(dLogits + j, load<f32>(probs + j) * dy);
    const target = load<i32>(targets + (<usize>r << 2));
    if (target >= 0 && target < V) {
      const at = <usize>target << 2;
      store<f32>(dLogits + at, dy * (load<f32>(probs + at) - 1));
    }
    probs += row;
    dLogits += row;
  }
}

/**
 * The natural logarithm of x ≥ 1 (a sum of exps whose largest is 1), in float64 without
 * AssemblyScript's Math.log, whose lookup table would be a data segment: x = 2^e·m with
 * m in [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, by its series to s¹³
 * (error below 1e-12).
 */
function ln(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  const series = 1 + s2 * (1 / 3.0 + s2 * (1 / 5.0 + s2 * (1 / 7.0 + s2 * (1 / 9.0 + s2 * (1 / 11.0 + s2 * (1 / 13.0))))));
  return <f64>e * 0.6931471805599453 + 2 * s * series;
}
