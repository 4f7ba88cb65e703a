// UnsortedSegmentSum for wasm. tfjs-backend-wasm 4.22 does not register this
// kernel at all, and it is the gradient of tf.gather (so of every embedding
// lookup): training a model with an embedding on 'wasm' fails with "Kernel
// 'UnsortedSegmentSum' not registered for backend 'wasm'". float32 runs in our module
// (wasm/sums.ts segmentRowSums: a 2×128 training step's embedding gradient was 2.5% of the
// step as a JS loop); int32 is a plain JS loop over views of the wasm heap (one pass over x).
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels } from './own-module.js';

function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = input(inputs, 'x');
  const segmentIds = input(inputs, 'segmentIds');
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  }
  const idsRank = segmentIds.shape.length;
  tf.util.assert(
    segmentIds.shape.every((dim, i) => dim === x.shape[i]),
    () => `segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}`,
  );
  const wasm = asWasm(backend);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(idsRank)], x.dtype);
  const inner = tf.util.sizeFromShape(x.shape.slice(idsRank));
  if (x.dtype === 'float32') {
    const rows = tf.util.sizeFromShape(segmentIds.shape);
    const at = (t: tf.TensorInfo) => byteOffset(wasm, t);
    ownKernels(wasm).segmentRowSums(rows, inner, numSegments, at(x), at(segmentIds), at(out));
    return out;
  }
  // Views taken after makeOutput: an allocation may have replaced the heap.
  const xs = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  const sums = wasm.typedArrayFromHeap(out);
  sums.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue; // dropped, as in TF and the cpu backend
    const src = i * inner;
    const dst = segment * inner;
    for (let j = 0; j < inner; j++) sums[dst + j] += xs[src + j];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
