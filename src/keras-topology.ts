/**
 * The model described as a Keras Sequential model, as tfjs-layers writes it in
 * `model.json`, so that `tf.loadLayersModel` (in a browser, say) can open a checkpoint:
 * one-hot input (batch, time, V) → LSTM × L (true sigmoid gates) → Dense softmax.
 */
import type { ModelConfig } from './model.js';

export function kerasTopology(config: ModelConfig): object {
  const lstmLayers = Array.from({ length: config.layers }, (_, l) => ({
    class_name: 'LSTM',
    config: {
      name: `lstm_${l + 1}`,
      trainable: true,
      dtype: 'float32',
      ...(l === 0 ? { batch_input_shape: [null, null, config.vocabSize] } : {}),
      units: config.hidden,
      activation: 'tanh',
      recurrent_activation: 'sigmoid', // tfjs defaults to hard_sigmoid; our gates are true sigmoids
      use_bias: true,
      unit_forget_bias: true,
      return_sequences: true,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
      implementation: 2,
      dropout: 0,
      recurrent_dropout: 0,
    },
  }));
  const output = {
    class_name: 'Dense',
    config: { name: 'output', trainable: true, dtype: 'float32', units: config.vocabSize, activation: 'softmax', use_bias: true },
  };
  return {
    class_name: 'Sequential',
    config: { name: 'charrnn', layers: [...lstmLayers, output] },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}
