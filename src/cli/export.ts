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
import { UserError } from '../errors.js';
import { writeLayersModel } from '../export/layers-model.js';
import { writeSafetensors } from '../export/safetensors.js';
import { torchStateDict } from '../export/torch-state-dict.js';
import { writeWebPage } from '../export/web-page.js';
import { info } from './output.js';

export const EXPORT_FORMATS = ['tfjs', 'safetensors'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportCommandOptions {
  format: ExportFormat;
  force?: boolean;
}

export async function exportCommand(checkpointPath: string, out: string, options: ExportCommandOptions): Promise<void> {
  await selectBackend('cpu'); // the weights are only read and written again
  const existing = options.format === 'tfjs' ? join(out, 'model.json') : out;
  if (existsSync(existing) && !options.force) throw new UserError(`${existing} already exists; pass --force to overwrite it or choose another ${options.format === 'tfjs' ? 'directory' : 'file'}`);
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
  const files = [
    ...(await writeLayersModel(checkpoint, outDir)),
    ...writeWebPage(outDir, `charrnn: ${name} (${layers}×${hidden} ${cell.toUpperCase()})`),
  ];
  info(`exported ${checkpoint.dir} to ${outDir}: ${files.join(', ')}`);
  info(`open ${join(outDir, 'index.html')} in a browser to sample from it`);
}

function exportSafetensors(checkpoint: LoadedCheckpoint, file: string): void {
  const contents = torchStateDict(checkpoint);
  try {
    writeSafetensors(file, contents);
  } catch (err) {
    throw new UserError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 6);
  }
  info(`exported ${checkpoint.dir} to ${file}: a PyTorch state dict (rnn.*, decoder.*) with the vocabulary in its metadata (see docs/scale-out.md)`);
}

function mkdirOrFail(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot write to ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 6);
  }
}
