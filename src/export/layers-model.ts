/**
 * A checkpoint as a stand-alone tfjs layers model, for browsers and, converted, Keras:
 *   model.json    Keras topology (LSTM, GRU reset_after=False, or SimpleRNN layers → Dense
 *                 softmax), the weights manifest, and our metadata under "charrnn"
 *                 (model config, vocabulary, training record; no resume state)
 *   weights.bin   every weight as little-endian float32, in manifest order
 *   vocab.json    the characters by index: input id k is vocab[k], output column k too
 * The model takes one-hot input (batch, time, V) and gives the next-character
 * probabilities (batch, time, V) after every step, starting each call from zero state.
 * Because model.json keeps our metadata, charrnn itself can also sample from an export.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import { UserError } from '../errors.js';
import { layersModelJson } from '../checkpoint/keras-topology.js';

export const WEIGHTS_FILE = 'weights.bin';
export const EXPORT_MODEL_FILES = ['model.json', WEIGHTS_FILE, 'vocab.json'];

/** Writes model.json, weights.bin and vocab.json into `outDir`; returns their names. */
export async function writeLayersModel(checkpoint: LoadedCheckpoint, outDir: string): Promise<string[]> {
  const { model, meta, dir } = checkpoint;
  if (model.config.learnedInit) {
    throw new UserError(
      `${dir} was trained with --learned-init: a Keras/tfjs Sequential model always starts from zero state, ` +
        'so it cannot hold the learned one; export a model trained without it',
    );
  }
  const weights = model.weights;
  const bytes = await float32LE(weights.map((w) => w.tensor.data() as Promise<Float32Array>));
  const { resume: _resume, ...kept } = meta;
  const modelJson = {
    ...layersModelJson(model, WEIGHTS_FILE),
    charrnn: { ...kept, weightsSha256: createHash('sha256').update(bytes).digest('hex') },
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, WEIGHTS_FILE), bytes);
  writeFileSync(join(outDir, 'vocab.json'), JSON.stringify(meta.vocab));
  writeFileSync(join(outDir, 'model.json'), JSON.stringify(modelJson)); // last: it names the others
  return [...EXPORT_MODEL_FILES];
}

async function float32LE(parts: Promise<Float32Array>[]): Promise<Buffer> {
  const arrays = await Promise.all(parts);
  const bytes = Buffer.alloc(arrays.reduce((n, a) => n + a.length, 0) * 4);
  let offset = 0;
  for (const values of arrays) {
    for (let k = 0; k < values.length; k++, offset += 4) bytes.writeFloatLE(values[k], offset);
  }
  return bytes;
}
