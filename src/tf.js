// The TensorFlow.js this program runs on; tf.d.ts gives its types and says why it is one
// module. This file is the bundle's entry: scripts/bundle-tfjs.mjs bundles it into dist/tf.js.
// tsc neither compiles nor emits it (no allowJs), so no tsc run can overwrite the bundle.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
export { loadLayersModel } from '@tensorflow/tfjs-layers';
