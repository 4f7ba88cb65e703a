// SplitV fix. tfjs-backend-wasm 4.22's SplitV calls its Slice once per output,
// and that Slice copies the whole input each time (see slice.ts), so tf.split
// into P parts costs P full copies of the input. Here each part is copied
// directly from the heap, so the total cost is one pass over the input.
import * as tf from '../../tf.js';
import { asWasm, input, type KernelArgs } from './backend.js';
import { sliceHeap } from './slice.js';

export function makeSplitVConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const x = input(inputs, 'x');
    if (x.dtype === 'string') return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo[];
    const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const splitSizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return splitSizes.map((s) => {
      const size = x.shape.slice();
      size[$axis] = s;
      const part = sliceHeap(asWasm(backend), x, begin, size);
      begin[$axis] += s;
      return part;
    });
  };
  return { ...original, kernelFunc };
}
