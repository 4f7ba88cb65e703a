// Slice fix. tfjs-backend-wasm 4.22's Slice starts with backend.readSync(x),
// which copies the WHOLE input out of the wasm heap into a new JS array before
// copying the requested part, so every slice costs O(input) instead of
// O(output) (SplitV and Unpack call it once per output: O(outputs * input)).
// Here the slice is copied straight from the input's heap memory to the
// output's as a few contiguous runs (one single memmove for a block of rows).
import * as tf from '../../tf.js';
import { asWasm, input, byteOffset, type KernelArgs, type WasmBackend } from './backend.js';

/** Copies x[begin : begin + size] (begin/size already parsed, same rank as x) into a new tensor. */
export function sliceHeap(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const rank = x.shape.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // Axes after `d` are taken whole, so each run spans axis d and everything after it.
  let d = rank - 1;
  while (d > 0 && size[d] === x.shape[d]) d--;
  const runLength = rank === 0 ? 1 : size[d] * strides[d];
  const bpe = tf.util.bytesPerElement(x.dtype);
  const runBytes = runLength * bpe;
  const heap = backend.wasm.HEAPU8; // read after makeOutput: allocation can replace it
  const srcBase = byteOffset(backend, x);
  let dst = byteOffset(backend, out);
  const index = new Array<number>(Math.max(d, 0)).fill(0); // position among the runs (axes < d)
  for (let run = 0; run < total / runLength; run++) {
    let src = srcBase;
    for (let axis = 0; axis < rank; axis++) {
      src += (begin[axis] + (axis < d ? index[axis] : 0)) * strides[axis] * bpe;
    }
    heap.copyWithin(dst, src, src + runBytes);
    dst += runBytes;
    for (let axis = d - 1; axis >= 0 && ++index[axis] === size[axis]; axis--) index[axis] = 0;
  }
  return out;
}

export function makeSliceConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = input(inputs, 'x');
    if (x.dtype === 'string') return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
    const { begin, size } = attrs as unknown as tf.SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
    tf.slice_util.assertParamsValid(x, begin_, size_);
    return sliceHeap(asWasm(backend), x, begin_, size_);
  };
  return { ...original, kernelFunc };
}
