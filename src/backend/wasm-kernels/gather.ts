// GatherV2 fix. tfjs-backend-wasm 4.22 gathers element by element through a
// generic strided loop: looking up 2,500 rows of a (80, 512) embedding took
// ~35 ms, a fifth of a whole training step of a 2×128 LSTM. The common case,
// whole rows along axis 0 with no batch dims, is one heap copy per index here;
// every other case goes to the original kernel.
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';

export function makeGatherConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = input(inputs, 'x');
    const indices = input(inputs, 'indices');
    const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
    const rowsAxis = tf.util.parseAxisParam(axis, x.shape)[0];
    if (rowsAxis !== 0 || (batchDims ?? 0) !== 0 || x.dtype === 'string' || x.dtype === 'complex64') {
      return original.kernelFunc({ inputs, backend: anyBackend, attrs }) as tf.TensorInfo;
    }
    const backend = asWasm(anyBackend);
    const rows = x.shape[0];
    const rowBytes = tf.util.sizeFromShape(x.shape.slice(1)) * tf.util.bytesPerElement(x.dtype);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    // Offsets and views after makeOutput: an allocation may have grown the heap.
    const ids = backend.typedArrayFromHeap(indices);
    const heap = backend.wasm.HEAPU8;
    const from = byteOffset(backend, x);
    const to = byteOffset(backend, out);
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i];
      tf.util.assert(row >= 0 && row < rows, () => `GatherV2: index ${row} is not in [0, ${rows - 1}]`);
      heap.copyWithin(to + i * rowBytes, from + row * rowBytes, from + (row + 1) * rowBytes);
    }
    return out;
  };
  return { ...original, kernelFunc };
}
