// The fused LSTM layer (wasm/lstm.ts) as kernels of the wasm backend, so that tfjs owns
// every tensor they make (autodiff, tidy, dispose and memory accounting all work):
//   CharrnnLstmForward   zIn (T·B, 4H), U (H, 4H), h0, c0 (B, H); attr keepAll
//                        -> hs (T·B, H), and with keepAll cs (T·B, H) and gates (T·B, 4H)
//                           (what the backward needs), without it the last c (B, H)
//   CharrnnLstmBackward  dHs (T·B, H), gates, cs, c0, U -> dZ (T·B, 4H), dh0, dc0 (B, H)
//   CharrnnLstmCell      z (B, 4H), c (B, H) -> h, c (B, H): one step without h·U (sampling)
// Shapes and maths are in wasm/lstm.ts; src/cells/fused.ts uses these.
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels, withScratch } from './own-module.js';

export const LSTM_FORWARD = 'CharrnnLstmForward';
export const LSTM_BACKWARD = 'CharrnnLstmBackward';
export const LSTM_CELL = 'CharrnnLstmCell';

function forward({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [zIn, U, h0, c0] = ['zIn', 'U', 'h0', 'c0'].map((name) => input(inputs, name));
  const [B, H] = h0.shape;
  const T = zIn.shape[0] / B;
  const keepAll = attrs?.keepAll === true;
  const kernels = ownKernels(backend);
  const hs = backend.makeOutput([T * B, H], 'float32');
  const cs = backend.makeOutput(keepAll ? [T * B, H] : [B, H], 'float32');
  const gateShape = keepAll ? [T * B, 4 * H] : [B, 4 * H];
  const gates = keepAll ? backend.makeOutput(gateShape, 'float32') : null;
  const gateBytes = keepAll ? 0 : tf.util.sizeFromShape(gateShape) * 4;
  withScratch(backend, [kernels.packedBytes(H, 4 * H), gateBytes], (packed, gateScratch) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    kernels.lstmForward(T, B, H, at(zIn), at(U), at(h0), at(c0), at(hs), at(cs), gates ? at(gates) : gateScratch, keepAll, packed);
  });
  return gates ? [hs, cs, gates] : [hs, cs];
}

function backward({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [dHs, gates, cs, c0, U] = ['dHs', 'gates', 'cs', 'c0', 'U'].map((name) => input(inputs, name));
  const [B, H] = c0.shape;
  const T = dHs.shape[0] / B;
  const kernels = ownKernels(backend);
  const dZ = backend.makeOutput([T * B, 4 * H], 'float32');
  const dh0 = backend.makeOutput([B, H], 'float32');
  const dc0 = backend.makeOutput([B, H], 'float32');
  withScratch(backend, [kernels.packedBytes(4 * H, H), B * H * 4, B * H * 4], (packed, dh, dc) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    kernels.lstmBackward(T, B, H, at(dHs), at(gates), at(cs), at(c0), at(U), at(dZ), at(dh0), at(dc0), packed, dh, dc);
  });
  return [dZ, dh0, dc0];
}

function cell({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [z, cPrev] = ['z', 'c'].map((name) => input(inputs, name));
  const [B, H] = cPrev.shape;
  const h = backend.makeOutput([B, H], 'float32');
  const c = backend.makeOutput([B, H], 'float32');
  withScratch(backend, [B * 4 * H * 4], (gates) => {
    const at = (x: tf.TensorInfo) => byteOffset(backend, x);
    ownKernels(backend).lstmCell(B, H, at(z), at(cPrev), gates, at(h), at(c));
  });
  return [h, c];
}

export const lstmKernelConfigs: tf.KernelConfig[] = [
  { kernelName: LSTM_FORWARD, backendName: 'wasm', kernelFunc: forward as unknown as tf.KernelFunc },
  { kernelName: LSTM_BACKWARD, backendName: 'wasm', kernelFunc: backward as unknown as tf.KernelFunc },
  { kernelName: LSTM_CELL, backendName: 'wasm', kernelFunc: cell as unknown as tf.KernelFunc },
];
