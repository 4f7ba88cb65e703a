/**
 * Writing a checkpoint (the format is in checkpoint.ts), crash-safely: the weights (and
 * the resume state) go to new files named by their hash, then model.json is replaced by
 * an atomic rename, so at every moment model.json names complete files. What a failed
 * or interrupted save leaves behind is removed.
 */
import * as tf from '../tf.js';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFailure } from '../errors.js';
import { syncDirectory, writeDurably, writeFileAtomic } from '../write-file.js';
import { FORMAT_VERSION, MODEL_FILE, type CheckpointMeta, type ResumeState, type TrainingRecord } from './checkpoint.js';
import { layersModelJson } from './keras-topology.js';
import type { CharModel } from '../model/model.js';
import type { Vocabulary } from '../data/vocab.js';

export function saveCheckpoint(dir: string, model: CharModel, vocab: Vocabulary, training: TrainingRecord, resume?: ResumeState): void {
  try {
    mkdirSync(dir, { recursive: true });
    const weights = writeFloat32Blob(
      dir,
      'weights',
      model.weights.map((w) => w.tensor),
    );
    const meta: CheckpointMeta = {
      formatVersion: FORMAT_VERSION,
      model: model.config,
      vocab: [...vocab.chars],
      training,
      weightsSha256: weights.sha256,
    };
    const files = [weights.file];
    if (resume) {
      const { tensors, ...scalars } = resume;
      const state = writeFloat32Blob(dir, 'state', tensors);
      meta.resume = { ...scalars, file: state.file, sha256: state.sha256, shapes: tensors.map((t) => t.shape) };
      files.push(state.file);
    }
    const modelJson = { ...layersModelJson(model, weights.file), charrnn: meta };
    // model.json last: until its rename, the old one still names complete files.
    writeFileAtomic(join(dir, MODEL_FILE), Buffer.from(JSON.stringify(modelJson, null, 1)));
    syncDirectory(dir);
  } catch (err) {
    // The checkpoint already there stays whole; what this save wrote goes (a full disk stays usable).
    removeLeftovers(dir);
    throw writeFailure(`the checkpoint in ${dir}`, err);
  }
  removeLeftovers(dir);
}

/**
 * Removes what failed or interrupted saves leave in a checkpoint directory: weights and
 * state files that its model.json, as it is on disk now, does not name (so the files of
 * the checkpoint there are never removed, whoever wrote it), and this process's temporary
 * files; every process's with `allTemporary`, for the holder of the run's lock (run-directory.ts).
 */
export function removeLeftovers(dir: string, options: { allTemporary?: boolean } = {}): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const named = namedFiles(dir);
  const temporary = options.allTemporary ? /\.tmp-\d+$/ : new RegExp(`\\.tmp-${process.pid}$`);
  for (const name of names) {
    const orphan = named !== null && /^(weights|state)-.*\.bin$/.test(name) && !named.includes(name);
    if (orphan || temporary.test(name)) rmSync(join(dir, name), { force: true });
  }
}

/**
 * The weights and state files a checkpoint's model.json names: none without one; null
 * when it cannot be read (then nothing counts as unnamed).
 */
function namedFiles(dir: string): string[] | null {
  try {
    const json = JSON.parse(readFileSync(join(dir, MODEL_FILE), 'utf8')) as {
      weightsManifest?: { paths?: unknown[] }[];
      charrnn?: { resume?: { file?: unknown } };
    };
    const paths = (json.weightsManifest ?? []).flatMap((group) => group.paths ?? []);
    return [...paths, json.charrnn?.resume?.file].filter((p): p is string => typeof p === 'string');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : null;
  }
}

/**
 * Writes tensors as one little-endian float32 file named by its SHA-256, `<kind>-<sha>.bin`,
 * durably and one tensor at a time: a checkpoint never holds a second copy of the whole
 * model (or of Adam's moments, twice its size) in memory.
 */
function writeFloat32Blob(dir: string, kind: string, tensors: tf.Tensor[]): { file: string; sha256: string } {
  const tmp = join(dir, `${kind}.bin.tmp-${process.pid}`);
  const hash = createHash('sha256');
  writeDurably(tmp, (fd) => {
    for (const tensor of tensors) {
      const values = tensor.dataSync() as Float32Array;
      const bytes = Buffer.alloc(values.length * 4);
      for (let k = 0; k < values.length; k++) bytes.writeFloatLE(values[k], k * 4);
      hash.update(bytes);
      writeSync(fd, bytes);
    }
  });
  const sha256 = hash.digest('hex');
  const file = blobName(kind, sha256);
  renameSync(tmp, join(dir, file));
  return { file, sha256 };
}

const blobName = (kind: string, sha256: string) => `${kind}-${sha256.slice(0, 16)}.bin`;
