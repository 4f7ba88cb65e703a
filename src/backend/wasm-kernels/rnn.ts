// The fused vanilla RNN layer (wasm/rnn.ts) as kernels of the wasm backend, as lstm.ts
// does for the LSTM:
//   CharrnnRnnForward   zIn (T·B, H), U (H, H), h0 (B, H) -> hs (T·B, H)
//   CharrnnRnnBackward  dHs (T·B, H), hs, U; attr batch (B) -> dZ (T·B, H), dh0 (B, H)
import type * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels, withScratch } from './own-module.js';

export const RNN_FORWARD = 'CharrnnRnnForward';
export const RNN_BACKWARD = 'CharrnnRnnBackward';

function forward({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(anyBackend);
  const [zIn, U, h0] = ['zIn', 'U', 'h0'].map((name) => input(inputs, name));
  const [B, H] = h0.shape;
  const T = zIn.shape[0] / B;
  const kernels = ownKernels(backend);
  const hs = backend.makeOutput([T * B, H], 'float32');
  withScratch(backend, [kernels.packedBytes(H, H)], (packed) => {
    kernels.rnnForward(T, B, H, byteOffset(backend, zIn), byteOffset(backend, U), byteOffset(backend, h0), byteOffset(backend, hs), packed);
  });
  return hs;
}

function backward({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [dHs, hs, U] = ['dHs', 'hs', 'U'].map((name) => input(inputs, name));
  const B = attrs?.batch as number;
  const H = U.shape[0];
  const T = dHs.shape[0] / B;
  const kernels = ownKernels(backend);
  const dZ = backend.makeOutput([T * B, H], 'float32');
  const dh0 = backend.makeOutput([B, H], 'float32');
  withScratch(backend, [kernels.packedBytes(H, H)], (packed) => {
    kernels.rnnBackward(
      T,
      B,
      H,
      byteOffset(backend, dHs),
      byteOffset(backend, hs),
      byteOffset(backend, U),
      byteOffset(backend, dZ),
      byteOffset(backend, dh0),
      packed,
    );
  });
  return [dZ, dh0];
}

export const rnnKernelConfigs: tf.KernelConfig[] = [
  { kernelName: RNN_FORWARD, backendName: 'wasm', kernelFunc: forward as unknown as tf.KernelFunc },
  { kernelName: RNN_BACKWARD, backendName: 'wasm', kernelFunc: backward as unknown as tf.KernelFunc },
];
