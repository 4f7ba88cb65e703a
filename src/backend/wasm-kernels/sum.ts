// Sum over leading axes. tfjs-backend-wasm 4.22 reduces innermost axes only, so a sum over
// axis 0 of a (R, N) matrix (the gradient of every bias added to R rows: R = T·B in a
// training step) first transposes the whole matrix, then sums; our module's columnSums
// (wasm/sums.ts) streams the rows once instead. Other reductions keep the original kernel.
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels } from './own-module.js';

export function makeSumConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = input(inputs, 'x');
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length < x.shape.length && axes.every((a, k) => a === k);
    if (x.dtype !== 'float32' || !leading) return original.kernelFunc({ inputs, backend: anyBackend, attrs }) as tf.TensorInfo;
    const backend = asWasm(anyBackend);
    const kept = x.shape.slice(axes.length);
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    ownKernels(backend).columnSums(rows, tf.util.sizeFromShape(kept), byteOffset(backend, x), byteOffset(backend, out));
    return out;
  };
  return { ...original, kernelFunc };
}
