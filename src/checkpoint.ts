/**
 * A checkpoint is a directory holding a tfjs layers model, so browsers can load it:
 *   model.json          Keras topology, weights manifest, and our metadata under "charrnn"
 *   weights-<sha>.bin   every weight as little-endian float32, in manifest order
 * Never code, never pickles. Writes are crash-safe: the weights go to a new file named by
 * their hash, then model.json is replaced by an atomic rename, so at every moment
 * model.json names a complete weights file.
 *
 * A run directory holds `latest/` and `best/` checkpoints; passing a run directory
 * where a checkpoint is expected means its best one.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from './config.js';
import type { TextEncoding } from './corpus.js';
import { CheckpointError } from './errors.js';
import { kerasTopology } from './keras-topology.js';
import { CharModel, weightSpecs, type ModelConfig } from './model.js';
import { Vocabulary } from './vocab.js';

export const FORMAT_VERSION = 1;
const MODEL_FILE = 'model.json';

export interface HistoryEntry {
  step: number;
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  lr: number;
  seconds: number;
}

export interface TrainingRecord {
  config: TrainConfig;
  step: number;
  /** Epochs completed, fractional. */
  epoch: number;
  history: HistoryEntry[];
  valLoss: number | null;
  bestValLoss: number | null;
  backend: string;
  seconds: number;
  corpus: { path: string; encoding: TextEncoding; bytes: number; chars: number; fingerprint: string };
}

export interface CheckpointMeta {
  formatVersion: number;
  model: ModelConfig;
  vocab: string[];
  training: TrainingRecord;
  weightsSha256: string;
}

export interface LoadedCheckpoint {
  dir: string;
  model: CharModel;
  vocab: Vocabulary;
  meta: CheckpointMeta;
}

export async function saveCheckpoint(dir: string, model: CharModel, vocab: Vocabulary, training: TrainingRecord): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const bytes = await weightBytes(model);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const weightsFile = `weights-${sha.slice(0, 16)}.bin`;
  const meta: CheckpointMeta = { formatVersion: FORMAT_VERSION, model: model.config, vocab: [...vocab.chars], training, weightsSha256: sha };
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'charrnn',
    convertedBy: null,
    modelTopology: kerasTopology(model.config),
    weightsManifest: [{ paths: [weightsFile], weights: model.weights.map(({ name, tensor }) => ({ name, shape: tensor.shape, dtype: 'float32' })) }],
    charrnn: meta,
  };
  writeFileAtomic(join(dir, weightsFile), bytes);
  writeFileAtomic(join(dir, MODEL_FILE), Buffer.from(JSON.stringify(modelJson, null, 1)));
  syncDirectory(dir);
  for (const name of readdirSync(dir)) {
    if (/^weights-.*\.bin$/.test(name) && name !== weightsFile) rmSync(join(dir, name), { force: true });
  }
}

/** A checkpoint directory, or a run directory (meaning its best, else latest, checkpoint). */
export function resolveCheckpointDir(path: string): string {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such checkpoint`);
  for (const candidate of [path, join(path, 'best'), join(path, 'latest')]) {
    if (existsSync(join(candidate, MODEL_FILE))) return candidate;
  }
  throw new CheckpointError(`${path} is not a checkpoint: no ${MODEL_FILE} in it or in best/ or latest/`);
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  const dir = resolveCheckpointDir(path);
  const { meta, weightsName } = parseModelJson(dir, readJson(dir));
  const weightsFile = join(dir, weightsName);
  let bytes: Buffer;
  try {
    bytes = readFileSync(weightsFile);
  } catch {
    throw new CheckpointError(`${dir}: weights file ${weightsFile} is missing`);
  }
  const specs = weightSpecs(meta.model);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) * 4;
  if (bytes.length !== expected) {
    throw new CheckpointError(`${dir}: weights file holds ${bytes.length} bytes, the model needs ${expected} (truncated or corrupt)`);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== meta.weightsSha256) {
    throw new CheckpointError(`${dir}: weights checksum does not match (corrupt checkpoint)`);
  }
  const floats = readFloat32LE(bytes);
  let offset = 0;
  const tensors = specs.map(({ shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(floats.subarray(offset, offset + size), shape);
    offset += size;
    return t;
  });
  return { dir, model: CharModel.fromTensors(meta.model, tensors), vocab: new Vocabulary(meta.vocab), meta };
}

function readJson(dir: string): unknown {
  let text: string;
  try {
    text = readFileSync(join(dir, MODEL_FILE), 'utf8');
  } catch (err) {
    throw new CheckpointError(`${dir}: cannot read ${MODEL_FILE} (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(`${dir}: ${MODEL_FILE} is not valid JSON (corrupt checkpoint)`);
  }
}

function parseModelJson(dir: string, parsed: unknown): { meta: CheckpointMeta; weightsName: string } {
  const json = parsed as { charrnn?: CheckpointMeta; weightsManifest?: { paths?: string[] }[] } | null;
  const meta = json?.charrnn;
  if (!meta || typeof meta !== 'object') throw new CheckpointError(`${dir}: ${MODEL_FILE} is not a charrnn checkpoint`);
  if (typeof meta.formatVersion !== 'number') throw new CheckpointError(`${dir}: checkpoint has no format version`);
  if (meta.formatVersion > FORMAT_VERSION) {
    throw new CheckpointError(`${dir}: checkpoint format ${meta.formatVersion} is newer than this charrnn reads (${FORMAT_VERSION}); upgrade charrnn`);
  }
  const m = meta.model;
  const t = meta.training;
  const valid =
    m && [m.vocabSize, m.hidden, m.layers].every((n) => Number.isInteger(n) && n > 0) &&
    t && t.config && [t.config.batch, t.config.seq].every((n) => Number.isInteger(n) && n > 0) && typeof t.config.valFrac === 'number' &&
    t.corpus && typeof t.corpus.path === 'string' && typeof t.corpus.fingerprint === 'string' &&
    Array.isArray(meta.vocab) && meta.vocab.length === m.vocabSize && meta.vocab.every((c) => typeof c === 'string') &&
    typeof meta.weightsSha256 === 'string';
  const weightsName = json?.weightsManifest?.[0]?.paths?.[0];
  // A plain file name: a checkpoint must not point outside its own directory.
  if (!valid || typeof weightsName !== 'string' || !/^[\w.-]+$/.test(weightsName)) {
    throw new CheckpointError(`${dir}: ${MODEL_FILE} is missing fields or has wrong types (corrupt checkpoint)`);
  }
  return { meta, weightsName };
}

async function weightBytes(model: CharModel): Promise<Buffer> {
  const parts = await Promise.all(model.weights.map(({ tensor }) => tensor.data() as Promise<Float32Array>));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.alloc(total * 4);
  let offset = 0;
  for (const part of parts) {
    for (let k = 0; k < part.length; k++, offset += 4) out.writeFloatLE(part[k], offset);
  }
  return out;
}

function readFloat32LE(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  for (let k = 0; k < out.length; k++) out[k] = bytes.readFloatLE(k * 4);
  return out;
}

/** Write to a temporary name beside the target, flush to disk, then rename over it. */
function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Not every platform can fsync a directory (Windows); the renames are still atomic.
  }
}

/** True when `dir` already holds a checkpoint or a run with checkpoints. */
export function holdsCheckpoints(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory() && [dir, join(dir, 'best'), join(dir, 'latest')].some((d) => existsSync(join(d, MODEL_FILE)));
}
