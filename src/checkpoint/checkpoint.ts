/**
 * A checkpoint is a directory holding a tfjs layers model, so browsers can load it:
 *   model.json          Keras topology, weights manifest, and our metadata under "charrnn"
 *   weights-<sha>.bin   every weight as little-endian float32, in manifest order
 * Never code, never pickles. This file holds the format and reads it, checking sizes
 * before reading a byte, checksums, and every field (schema.ts); save.ts writes it,
 * crash-safely.
 *
 * A run directory holds `latest/` and `best/` checkpoints; passing a run directory
 * where a checkpoint is expected means its best one.
 */
import * as tf from '../tf.js';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '../training/config.js';
import type { Decay } from '../training/learning-rate.js';
import type { CorpusFile, TextEncoding } from '../data/corpus.js';
import { CheckpointError } from '../errors.js';
import { readRegularFile } from '../read-file.js';
import { array, checkpointMetaSchema, FieldError, integer, object, string, where } from './schema.js';
import { upgradeMeta, upgradeResumeTensors } from './upgrade.js';
import { CharModel, weightSpecs, type ModelConfig } from '../model/model.js';
import { Vocabulary } from '../data/vocab.js';

/** Older formats are upgraded at load: see upgrade.ts. */
export const FORMAT_VERSION = 4;
export const MODEL_FILE = 'model.json';

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
  /**
   * `path`: a file, a folder, or '-' (standard input); `files`: what was read, in order (none from standard input).
   * `counts[id]`: how often vocabulary character `id` occurs in the corpus (absent in older checkpoints).
   */
  corpus: {
    path: string;
    files: CorpusFile[];
    encoding: TextEncoding;
    bytes: number;
    chars: number;
    fingerprint: string;
    counts?: number[];
  };
}

export interface CheckpointMeta {
  formatVersion: number;
  model: ModelConfig;
  vocab: string[];
  training: TrainingRecord;
  weightsSha256: string;
  /** Present when the checkpoint can be resumed exactly (see `ResumeState`). */
  resume?: ResumeRecord;
}

/** What an exact resume needs beyond the weights and the training record. */
export interface ResumeState {
  adamStep: number;
  rngState: number;
  /** Train loss accumulated since the last validation, for the history. */
  lossSinceEval: { sum: number; count: number };
  /** The divergence guard's memory: its loss floor (rollback.ts; named for what it was first), learning-rate scale, rollbacks so far. */
  minLoss: number;
  lrScale: number;
  rollbacks: number;
  /** Validations in a row without a new best (for --patience). */
  staleValidations: number;
  /** A time budget's planned learning-rate decay (training/learning-rate.ts); null in older checkpoints (the schema's reading of absent). */
  timeDecay: Decay | null;
  /** Adam's moments (first, then second, of every weight), then the carried state of every layer (its cell's tensors). */
  tensors: tf.Tensor[];
}

interface ResumeRecord extends Omit<ResumeState, 'tensors'> {
  file: string;
  sha256: string;
  shapes: number[][];
}

export interface LoadedCheckpoint {
  dir: string;
  model: CharModel;
  vocab: Vocabulary;
  meta: CheckpointMeta;
  /** Only when loaded with `{ resume: true }` from a resumable checkpoint. */
  resume?: ResumeState;
}

/**
 * A checkpoint directory, or a run directory: its best checkpoint for sampling and
 * scoring, its latest for resuming (each falling back to the other).
 */
export function resolveCheckpointDir(path: string, prefer: 'best' | 'latest' = 'best'): string {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such checkpoint`);
  const order = prefer === 'best' ? ['best', 'latest'] : ['latest', 'best'];
  for (const candidate of [path, ...order.map((sub) => join(path, sub))]) {
    if (existsSync(join(candidate, MODEL_FILE))) return candidate;
  }
  throw new CheckpointError(`${path} is not a checkpoint: no ${MODEL_FILE} in it or in best/ or latest/`);
}

/** A checkpoint directory's metadata, checked as `loadCheckpoint` checks it, without reading the weights. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  return parseModelJson(dir, readJson(dir)).meta;
}

export function loadCheckpoint(path: string, options: { resume?: boolean } = {}): LoadedCheckpoint {
  const dir = resolveCheckpointDir(path, options.resume ? 'latest' : 'best');
  const { meta, writtenBy, weightsName } = parseModelJson(dir, readJson(dir));
  const shapes = weightSpecs(meta.model).map((s) => s.shape);
  const model = CharModel.fromTensors(meta.model, toTensors(readBlob(dir, weightsName, meta.weightsSha256, shapes, 'weights'), shapes));
  const loaded: LoadedCheckpoint = { dir, model, vocab: new Vocabulary(meta.vocab), meta };
  if (options.resume) loaded.resume = readResumeState(dir, meta, writtenBy, model);
  return loaded;
}

/** What an exact resume needs, read and checked against `model`, in the current format (upgrade.ts). */
function readResumeState(dir: string, meta: CheckpointMeta, writtenBy: number, model: CharModel): ResumeState {
  const record = meta.resume;
  if (!record)
    throw new CheckpointError(
      `${dir} holds no training state to resume from (written by an older charrnn?); use --init-from to start from its weights`,
    );
  const { file, sha256, shapes, ...scalars } = record;
  const expected = resumeShapes(meta, writtenBy < 2 ? 2 : model.cell.state.length);
  if (JSON.stringify(shapes) !== JSON.stringify(expected)) {
    throw new CheckpointError(
      `${dir}: ${MODEL_FILE} field charrnn.resume.shapes does not match the model ` +
        `(Adam's moments and the carried state need ${expected.length} tensors of its shapes; corrupt checkpoint)`,
    );
  }
  const tensors = toTensors(readBlob(dir, file, sha256, shapes, 'training state'), shapes);
  return { ...scalars, tensors: upgradeResumeTensors(writtenBy, tensors, model) };
}

/**
 * The resume state's tensors: Adam's first and second moments of every weight, then
 * `perLayer` (batch, hidden) state tensors of every layer.
 */
function resumeShapes(meta: CheckpointMeta, perLayer: number): number[][] {
  const weights = weightSpecs(meta.model).map((s) => s.shape);
  const { batch } = meta.training.config;
  const state = Array.from({ length: perLayer * meta.model.layers }, () => [batch, meta.model.hidden]);
  return [...weights, ...weights, ...state];
}

/**
 * Reads a float32 file, checking its name, its size against `shapes` before reading a
 * byte (a file that is too long, or a device, is never read), and its checksum.
 */
function readBlob(dir: string, name: string, sha256: string, shapes: number[][], what: string): Float32Array {
  // A plain file name: a checkpoint must not point outside its own directory.
  if (!/^[\w.-]+$/.test(name)) throw new CheckpointError(`${dir}: ${what} file name ${JSON.stringify(name)} is not allowed`);
  const expected = shapes.reduce((n, shape) => n + sizeOf(shape), 0) * 4;
  const bytes = readRegularFile(join(dir, name), { exactBytes: expected }, (reason) => {
    const why =
      reason === 'no such file'
        ? 'is missing'
        : `${reason}${reason.startsWith('holds') ? " for the model's shapes (truncated or corrupt)" : ''}`;
    return new CheckpointError(`${dir}: ${what} file ${name} ${why}`);
  });
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
    throw new CheckpointError(`${dir}: ${what} checksum does not match (corrupt checkpoint)`);
  }
  return readFloat32LE(bytes);
}

function toTensors(floats: Float32Array, shapes: number[][]): tf.Tensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const t = tf.tensor(floats.subarray(offset, offset + sizeOf(shape)), shape);
    offset += sizeOf(shape);
    return t;
  });
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** model.json holds the vocabulary and history, not the weights: far below this even for a large vocabulary and a long run. */
const MODEL_JSON_MAX_BYTES = 256 * 2 ** 20;

function readJson(dir: string): unknown {
  const bytes = readRegularFile(
    join(dir, MODEL_FILE),
    { maxBytes: MODEL_JSON_MAX_BYTES },
    (reason) => new CheckpointError(`${dir}: ${MODEL_FILE} ${reason}`),
  );
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CheckpointError(`${dir}: ${MODEL_FILE} is not valid JSON (corrupt checkpoint)`);
  }
}

const manifestSchema = array(object({ paths: array(string), weights: array(object({ name: string, shape: array(integer(0)) })) }));

/**
 * model.json → its metadata upgraded to the current format, the format it was written in,
 * and the weights file's name. Every field charrnn reads is checked after the upgrade
 * (schema.ts), naming the first bad one, and the weights manifest must list the model's
 * weights in our order and shapes.
 */
function parseModelJson(dir: string, parsed: unknown): { meta: CheckpointMeta; writtenBy: number; weightsName: string } {
  const json = parsed as { charrnn?: CheckpointMeta; weightsManifest?: unknown } | null;
  const written = json?.charrnn;
  if (!written || typeof written !== 'object') throw new CheckpointError(`${dir}: ${MODEL_FILE} is not a charrnn checkpoint`);
  const writtenBy = written.formatVersion;
  if (typeof writtenBy === 'number' && writtenBy > FORMAT_VERSION) {
    throw new CheckpointError(
      `${dir}: checkpoint format ${writtenBy} is newer than this charrnn reads (${FORMAT_VERSION}); upgrade charrnn`,
    );
  }
  try {
    integer(1)(writtenBy, 'charrnn.formatVersion');
    const meta = checkpointMetaSchema(upgradeMeta(written), 'charrnn') as CheckpointMeta;
    const specs = weightSpecs(meta.model);
    const manifest = where(
      manifestSchema,
      (m) =>
        m.length === 1 &&
        m[0].paths.length === 1 &&
        m[0].weights.length === specs.length &&
        m[0].weights.every((w, k) => w.name === specs[k].name && JSON.stringify(w.shape) === JSON.stringify(specs[k].shape)),
      `one file holding the model's ${specs.length} weights in order, with the shapes charrnn.model gives`,
    )(json.weightsManifest, 'weightsManifest');
    return { meta, writtenBy, weightsName: manifest[0].paths[0] };
  } catch (err) {
    if (err instanceof FieldError)
      throw new CheckpointError(`${dir}: ${MODEL_FILE} field ${err.message} (corrupt or hand-edited checkpoint)`);
    throw err;
  }
}

export function readFloat32LE(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  for (let k = 0; k < out.length; k++) out[k] = bytes.readFloatLE(k * 4);
  return out;
}

/** True when `dir` already holds a checkpoint or a run with checkpoints. */
export function holdsCheckpoints(dir: string): boolean {
  return (
    existsSync(dir) &&
    statSync(dir).isDirectory() &&
    [dir, join(dir, 'best'), join(dir, 'latest')].some((d) => existsSync(join(d, MODEL_FILE)))
  );
}
