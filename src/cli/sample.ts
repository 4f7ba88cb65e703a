/** `charrnn sample <checkpoint>`: streams generated text to stdout as it is produced. */
import { selectBackend, type BackendChoice } from '../backend.js';
import { loadCheckpoint } from '../checkpoint.js';
import { UserError } from '../errors.js';
import { generate } from '../sampler.js';
import { announceBackend } from './announce.js';
import { paintStdout } from './output.js';

export interface SampleCommandOptions {
  length: number;
  temperature: number;
  argmax?: boolean;
  prime?: string;
  seed?: number;
  backend: BackendChoice;
}

export async function sampleCommand(checkpointPath: string, options: SampleCommandOptions): Promise<void> {
  announceBackend(await selectBackend(options.backend));
  const { model, vocab } = loadCheckpoint(checkpointPath);
  try {
    const prime = options.prime ?? '';
    const unknown = vocab.unknownChars(prime);
    if (unknown.length) {
      throw new UserError(`--prime has characters the model never saw: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
    }
    const chars = generate(model, vocab, {
      length: options.length,
      temperature: options.argmax ? 0 : options.temperature,
      prime,
      seed: options.seed ?? Math.floor(Math.random() * 0x7fffffff),
    });
    let first = true;
    for (const text of chars) {
      process.stdout.write(first ? paintStdout.dim(text) : text); // the prime, told apart on a terminal
      first = false;
    }
    process.stdout.write('\n');
  } finally {
    model.dispose();
  }
}
