// Fixes for slow, wrong or missing kernels of tfjs-backend-wasm 4.22, installed
// for the 'wasm' backend only (see each file for the measured problem):
//   BatchMatMul    transposed / batched matMul: naive loop (~100x slower) -> XNNPACK
//   _FusedMatMul   wrong bias when transposed or batched; same slowness  -> XNNPACK
//   Slice, SplitV, Unpack   copied the whole input per output -> copy only the output
//   GatherV2       element-by-element loop for row lookups     -> one copy per row
//   UnsortedSegmentSum      missing (gradient of tf.gather)    -> JS loop on the heap
//   Tanh           scalar std::tanh, 17x slower than Sigmoid    -> via Sigmoid
//   Identity       copied every element                        -> shares the data
//   Sum            over leading axes: transposed everything first -> one pass (wasm/sums.ts)
// and adds kernels of our own (lstm.ts, gru.ts, rnn.ts: fused layers; step.ts: the sampler's
// projections; cross-entropy.ts: the training loss; adam.ts: the optimiser's update; from wasm/).
//
// registerWasmKernelFixes() may be called before or after tf.setBackend('wasm'):
// each replacement keeps the original kernel's setupFunc (the engine runs
// setupFuncs when the backend is initialised, and again on each setBackend),
// and the replaced kernels call the original kernelFuncs, which were set up
// by whichever of the two ran. Calling it more than once does nothing.
import * as tf from '../../tf.js';
import { adamKernelConfig } from './adam.js';
import { makeBatchMatMulConfig } from './batch-matmul.js';
import { crossEntropyKernelConfigs } from './cross-entropy.js';
import { makeFusedMatMulConfig } from './fused-matmul.js';
import { makeGatherConfig } from './gather.js';
import { makeIdentityConfig } from './identity.js';
import { gruKernelConfigs } from './gru.js';
import { makeSliceConfig } from './slice.js';
import { makeSplitVConfig } from './split-v.js';
import { makeSumConfig } from './sum.js';
import { stepKernelConfigs } from './step.js';
import { makeTanhConfig } from './tanh.js';
import { lstmKernelConfigs } from './lstm.js';
import { rnnKernelConfigs } from './rnn.js';
import { makeUnpackConfig } from './unpack.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

const OVERRIDES: Array<[string, (original: tf.KernelConfig) => tf.KernelConfig]> = [
  [tf.BatchMatMul, makeBatchMatMulConfig],
  [tf._FusedMatMul, makeFusedMatMulConfig],
  [tf.GatherV2, makeGatherConfig],
  [tf.Identity, makeIdentityConfig],
  [tf.Slice, makeSliceConfig],
  [tf.SplitV, makeSplitVConfig],
  [tf.Sum, makeSumConfig],
  [tf.Tanh, makeTanhConfig],
  [tf.Unpack, makeUnpackConfig],
];

/** Kernel configs installed by this module (to detect a second call). */
const installed = new WeakSet<tf.KernelConfig>();

function install(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, 'wasm') != null) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  installed.add(config);
}

export function registerWasmKernelFixes(): void {
  for (const [name, makeConfig] of OVERRIDES) {
    const original = tf.getKernel(name, 'wasm');
    if (original == null) throw new Error(`wasm kernel ${name} is not registered; is @tensorflow/tfjs-backend-wasm loaded?`);
    if (!installed.has(original)) install(makeConfig(original));
  }
  for (const config of [
    unsortedSegmentSumConfig,
    adamKernelConfig,
    ...crossEntropyKernelConfigs,
    ...lstmKernelConfigs,
    ...gruKernelConfigs,
    ...rnnKernelConfigs,
    ...stepKernelConfigs,
  ]) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current == null || !installed.has(current)) install(config);
  }
}
