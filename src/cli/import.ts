/**
 * `charrnn import <file.safetensors> -o <dir>`: a PyTorch state dict written by
 * `charrnn export --format safetensors` or scale-out/train_ddp.py, as a checkpoint
 * (weights and training record, no optimiser state) for sample, eval, info and
 * `train --init-from`.
 */
import * as tf from '../tf.js';
import { selectBackend } from '../backend/select.js';
import { holdsCheckpoints } from '../checkpoint/checkpoint.js';
import { claimRunDirectory } from '../checkpoint/run-directory.js';
import { saveCheckpoint } from '../checkpoint/save.js';
import { UserError } from '../errors.js';
import { readSafetensors } from '../export/safetensors.js';
import { fromTorchStateDict } from '../export/torch-state-dict.js';
import { CharModel } from '../model/model.js';
import { info } from './output.js';
import type { ImportCommandOptions } from './commands.js';

export async function importCommand(file: string, options: ImportCommandOptions): Promise<void> {
  const { out, force } = options;
  // Claimed as a run directory is: a second import or a training run writing there is refused.
  const claim = claimRunDirectory(out, `charrnn ${process.argv.slice(2).join(' ')}`);
  try {
    if (holdsCheckpoints(out) && !force)
      throw new UserError(`${out} already holds checkpoints; pass --force to overwrite them or choose another directory`);
    await importInto(file, out);
  } finally {
    claim.release();
  }
}

async function importInto(file: string, out: string): Promise<void> {
  await selectBackend('cpu'); // the weights are only read and written again
  const imported = fromTorchStateDict(readSafetensors(file), file);
  const model = CharModel.fromTensors(
    imported.config,
    imported.weights.map(({ shape, data }) => tf.tensor(data, shape)),
  );
  try {
    saveCheckpoint(out, model, imported.vocab, imported.training);
  } catch (err) {
    throw new UserError(`cannot write to ${out} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 6);
  } finally {
    model.dispose();
  }
  const { layers, hidden, cell } = imported.config;
  info(
    `imported ${file} to ${out}: ${layers}×${hidden} ${cell.toUpperCase()}, ${imported.vocab.size} characters; try charrnn sample ${out}`,
  );
}
