/**
 * The model described as a Keras Sequential model, as tfjs-layers writes it in
 * `model.json`, so that `tf.loadLayersModel` (in a browser, say) can open a checkpoint:
 * one-hot input (batch, time, V) → LSTM, GRU or SimpleRNN × L (true sigmoid gates; a GRU
 * with reset_after=False) → Dense softmax. Learned initial states (--learned-init) have
 * no place here: a Sequential model's recurrent layers start from zeros.
 */
import { CELLS } from '../cells/registry.js';
import type { CharModel, ModelConfig } from '../model/model.js';

export function kerasTopology(config: ModelConfig): object {
  const { cell, layers, hidden, vocabSize } = config;
  const { className, prefix, config: cellConfig } = CELLS[cell].keras;
  const recurrentLayers = Array.from({ length: layers }, (_, l) => ({
    class_name: className,
    config: {
      name: `${prefix}_${l + 1}`,
      trainable: true,
      dtype: 'float32',
      ...(l === 0 ? { batch_input_shape: [null, null, vocabSize] } : {}),
      units: hidden,
      ...cellConfig, // activations: tfjs defaults to hard_sigmoid gates; ours are true sigmoids
      use_bias: true,
      return_sequences: true,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
      dropout: 0,
      recurrent_dropout: 0,
    },
  }));
  const output = {
    class_name: 'Dense',
    config: { name: 'output', trainable: true, dtype: 'float32', units: vocabSize, activation: 'softmax', use_bias: true },
  };
  return {
    class_name: 'Sequential',
    config: { name: 'charrnn', layers: [...recurrentLayers, output] },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}

/**
 * The tfjs layers-model part of a model.json whose weights are one float32 file,
 * `weightsFile`, in `model.weights` order: what a checkpoint and an export share.
 */
export function layersModelJson(model: CharModel, weightsFile: string) {
  return {
    format: 'layers-model',
    generatedBy: 'charrnn',
    convertedBy: null,
    modelTopology: kerasTopology(model.config),
    weightsManifest: [
      { paths: [weightsFile], weights: model.weights.map(({ name, tensor }) => ({ name, shape: tensor.shape, dtype: 'float32' })) },
    ],
  };
}
