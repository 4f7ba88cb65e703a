// Unpack fix. tfjs-backend-wasm 4.22's Unpack (tf.unstack) calls its Slice once
// per output, and that Slice copies the whole input each time (see slice.ts):
// unstacking a [T, B, H] tensor copied T * T * B * H floats. Here each output
// is copied directly from the heap (one memmove per output along axis 0), so
// the total cost is one pass over the input.
import * as tf from '../../tf.js';
import { asWasm, input, type KernelArgs } from './backend.js';
import { sliceHeap } from './slice.js';

export function makeUnpackConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const value = input(inputs, 'value');
    if (value.dtype === 'string') return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo[];
    const rank = value.shape.length;
    let { axis } = attrs as unknown as tf.UnpackAttrs;
    if (axis < 0) axis += rank;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const begin = new Array<number>(rank).fill(0);
    const size = value.shape.slice();
    size[axis] = 1;
    const outputs: tf.TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]; i++) {
      begin[axis] = i;
      const { dataId, dtype } = sliceHeap(asWasm(backend), value, begin, size);
      outputs.push({ dataId, dtype, shape: outShape });
    }
    return outputs;
  };
  return { ...original, kernelFunc };
}
