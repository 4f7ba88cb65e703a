/**
 * `charrnn export <checkpoint> <dir>`: a checkpoint as a tfjs layers model (model.json,
 * weights.bin, vocab.json) with a web page that samples from it (index.html, tf.min.js,
 * model.js), which opens from disk.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { UserError } from '../errors.js';
import { writeLayersModel } from '../export/layers-model.js';
import { writeWebPage } from '../export/web-page.js';
import { info } from './output.js';

export interface ExportCommandOptions {
  force?: boolean;
}

export async function exportCommand(checkpointPath: string, outDir: string, options: ExportCommandOptions): Promise<void> {
  await selectBackend('cpu'); // the weights are only read and written again
  if (existsSync(join(outDir, 'model.json')) && !options.force) throw new UserError(`${outDir} already holds a model.json; pass --force to overwrite it or choose another directory`);
  const checkpoint = loadCheckpoint(checkpointPath);
  try {
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (err) {
      throw new UserError(`cannot write to ${outDir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 6);
    }
    const { layers, hidden, cell } = checkpoint.model.config;
    const full = resolve(checkpoint.dir);
    const name = ['best', 'latest'].includes(basename(full)) ? basename(dirname(full)) : basename(full); // the run's name
    const files = [
      ...(await writeLayersModel(checkpoint, outDir)),
      ...writeWebPage(outDir, `charrnn: ${name} (${layers}×${hidden} ${cell.toUpperCase()})`),
    ];
    info(`exported ${checkpoint.dir} to ${outDir}: ${files.join(', ')}`);
    info(`open ${join(outDir, 'index.html')} in a browser to sample from it; for Keras: tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras ${join(outDir, 'model.json')} model.h5`);
  } finally {
    checkpoint.model.dispose();
  }
}
