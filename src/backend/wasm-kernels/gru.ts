// The fused GRU layer (wasm/gru.ts) as kernels of the wasm backend, as lstm.ts does for the LSTM:
//   CharrnnGruForward   zIn (T·B, 3H), U (H, 3H), h0 (B, H); attr keepAll
//                       -> hs (T·B, H), and with keepAll gates (T·B, 3H) and rhs (T·B, H)
//                          (what the backward needs)
//   CharrnnGruBackward  dHs (T·B, H), gates, hs, h0, U -> dZ (T·B, 3H), dh0 (B, H)
//   CharrnnGruCell      szr (B, 2H), xh (B, H), Uh (H, H), h (B, H) -> h (B, H): the sampler's step
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels, withScratch } from './own-module.js';

export const GRU_FORWARD = 'CharrnnGruForward';
export const GRU_BACKWARD = 'CharrnnGruBackward';
export const GRU_CELL = 'CharrnnGruCell';

function forward({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [zIn, U, h0] = ['zIn', 'U', 'h0'].map((name) => input(inputs, name));
  const [B, H] = h0.shape;
  const T = zIn.shape[0] / B;
  const keepAll = attrs?.keepAll === true;
  const kernels = ownKernels(backend);
  const hs = backend.makeOutput([T * B, H], 'float32');
  const gates = keepAll ? backend.makeOutput([T * B, 3 * H], 'float32') : null;
  const rhs = keepAll ? backend.makeOutput([T * B, H], 'float32') : null;
  const stepBytes = keepAll ? [0, 0] : [B * 3 * H * 4, B * H * 4];
  withScratch(backend, [kernels.gruPackedBytes(H), ...stepBytes], (packed, gateScratch, rhScratch) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    kernels.gruForward(
      T,
      B,
      H,
      at(zIn),
      at(U),
      at(h0),
      at(hs),
      gates ? at(gates) : gateScratch,
      rhs ? at(rhs) : rhScratch,
      keepAll,
      packed,
    );
  });
  return gates && rhs ? [hs, gates, rhs] : [hs];
}

function backward({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [dHs, gates, hs, h0, U] = ['dHs', 'gates', 'hs', 'h0', 'U'].map((name) => input(inputs, name));
  const [B, H] = h0.shape;
  const T = dHs.shape[0] / B;
  const kernels = ownKernels(backend);
  const dZ = backend.makeOutput([T * B, 3 * H], 'float32');
  const dh0 = backend.makeOutput([B, H], 'float32');
  withScratch(backend, [kernels.gruPackedBytes(H), B * H * 4, B * H * 4], (packed, dh, dRh) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    kernels.gruBackward(T, B, H, at(dHs), at(gates), at(hs), at(h0), at(U), at(dZ), at(dh0), packed, dh, dRh);
  });
  return [dZ, dh0];
}

function cell({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(anyBackend);
  const [szr, xh, Uh, hPrev] = ['szr', 'xh', 'Uh', 'h'].map((name) => input(inputs, name));
  const [B, H] = hPrev.shape;
  const kernels = ownKernels(backend);
  const h = backend.makeOutput([B, H], 'float32');
  withScratch(backend, [B * 3 * H * 4, B * H * 4, kernels.packedBytes(H, H)], (gates, rh, packed) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    kernels.gruCell(B, H, at(szr), at(xh), at(Uh), at(hPrev), at(h), gates, rh, packed);
  });
  return h;
}

export const gruKernelConfigs: tf.KernelConfig[] = [
  { kernelName: GRU_FORWARD, backendName: 'wasm', kernelFunc: forward as unknown as tf.KernelFunc },
  { kernelName: GRU_BACKWARD, backendName: 'wasm', kernelFunc: backward as unknown as tf.KernelFunc },
  { kernelName: GRU_CELL, backendName: 'wasm', kernelFunc: cell as unknown as tf.KernelFunc },
];
