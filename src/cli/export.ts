/**
 * `charrnn export <checkpoint> <out>`: a checkpoint as a tfjs layers model (model.json,
 * weights.bin, vocab.json) with a web page that samples from it (index.html, tf.min.js,
 * model.js), which opens from disk; or, with --format safetensors, as a PyTorch state
 * dict in one .safetensors file.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import { refuseInsideLiveRun, runOrCheckpoint } from '../checkpoint/run-directory.js';
import { UserError, writeFailure } from '../errors.js';
import { EXPORT_MODEL_FILES, writeLayersModel } from '../export/layers-model.js';
import { writeSafetensors } from '../export/safetensors.js';
import { torchStateDict } from '../export/torch-state-dict.js';
import { PAGE_FILES, writeWebPage } from '../export/web-page.js';
import { info } from './output.js';
import type { ExportCommandOptions } from './commands.js';

/** Every file a tfjs export writes. */
const TFJS_FILES = [...EXPORT_MODEL_FILES, ...PAGE_FILES];

export async function exportCommand(checkpointPath: string, out: string, options: ExportCommandOptions): Promise<void> {
  if (options.format === 'tfjs') refuseTarget(out, options.force ?? false);
  else if (existsSync(out) && !options.force)
    throw new UserError(`${out} already exists; pass --force to overwrite it or choose another file`);
  refuseInsideLiveRun(out);
  await selectBackend('cpu'); // the weights are only read and written again
  const checkpoint = loadCheckpoint(checkpointPath);
  try {
    mkdirOrFail(options.format === 'tfjs' ? out : dirname(out));
    if (options.format === 'tfjs') await exportTfjs(checkpoint, out);
    else exportSafetensors(checkpoint, out);
  } finally {
    checkpoint.model.dispose();
  }
}

async function exportTfjs(checkpoint: LoadedCheckpoint, outDir: string): Promise<void> {
  const { layers, hidden, cell } = checkpoint.model.config;
  const full = resolve(checkpoint.dir);
  const name = ['best', 'latest'].includes(basename(full)) ? basename(dirname(full)) : basename(full); // the run's name
  let files: string[];
  try {
    files = [
      ...(await writeLayersModel(checkpoint, outDir)),
      ...writeWebPage(outDir, `charrnn: ${name} (${layers}×${hidden} ${cell.toUpperCase()})`),
    ];
  } catch (err) {
    throw writeFailure(outDir, err);
  }
  info(`exported ${checkpoint.dir} to ${outDir}: ${files.join(', ')}`);
  info(`open ${join(outDir, 'index.html')} in a browser to sample from it`);
}

function exportSafetensors(checkpoint: LoadedCheckpoint, file: string): void {
  const contents = torchStateDict(checkpoint);
  try {
    writeSafetensors(file, contents);
  } catch (err) {
    throw writeFailure(file, err);
  }
  info(
    `exported ${checkpoint.dir} to ${file}: ` +
      'a PyTorch state dict (rnn.*, decoder.*) with the vocabulary in its metadata (see docs/scale-out.md)',
  );
}

function mkdirOrFail(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeFailure(dir, err);
  }
}

/** A run or checkpoint directory is never a target (it would stop being resumable); files of ours already there only with --force. */
function refuseTarget(outDir: string, force: boolean): void {
  const ours = runOrCheckpoint(outDir);
  if (ours) throw new UserError(`${outDir} is a ${ours} directory; export into a directory of its own`);
  const taken = TFJS_FILES.filter((file) => existsSync(join(outDir, file)));
  if (taken.length > 0 && !force)
    throw new UserError(
      `${outDir} already holds ${taken.join(', ')}; ` +
        `pass --force to overwrite ${taken.length > 1 ? 'them' : 'it'} or choose another directory`,
    );
}
