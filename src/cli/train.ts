/** `charrnn train [corpus]`: options → corpus → backend → training loop → summary. */
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendChoice } from '../backend.js';
import { holdsCheckpoints } from '../checkpoint.js';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../config.js';
import { readCorpus, type TextEncoding } from '../corpus.js';
import { UserError } from '../errors.js';
import { train } from '../trainer.js';
import { announceBackend } from './announce.js';
import { formatCount, formatDuration, info, paint } from './output.js';
import { TrainingProgress } from './progress.js';

export const DEFAULT_CORPUS = fileURLToPath(new URL('../../corpora/default.txt', import.meta.url));

export interface TrainCommandOptions extends Partial<TrainConfig> {
  out?: string;
  force?: boolean;
  backend: BackendChoice;
  encoding: TextEncoding;
}

export async function trainCommand(corpusPath: string | undefined, options: TrainCommandOptions): Promise<void> {
  const { out, force, backend, encoding, ...overrides } = options;
  const config: TrainConfig = { ...TRAIN_DEFAULTS, ...definedOnly(overrides) };
  validateTrainConfig(config);
  const corpus = readCorpus(corpusPath ?? DEFAULT_CORPUS, encoding);
  const outDir = chooseOutDir(out, corpus.path, force ?? false);

  const backendInfo = await selectBackend(backend);
  announceBackend(backendInfo);

  const progress = new TrainingProgress();
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143); // second signal: leave now; checkpoints are written atomically
    progress.stop();
    info(paint.yellow(`${signal}: finishing this step and saving a checkpoint (again to quit at once)`));
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await train({
      corpus,
      config,
      outDir,
      backend: backendInfo.description,
      observer: {
        onStart: (plan) => {
          const notes = corpus.notes.map((n) => `; ${n}`).join('');
          info(`corpus: ${corpus.path} (${formatCount(corpus.bytes)} bytes, ${plan.vocabSize} distinct characters${notes})`);
          info(`model: ${config.layers}×${config.hidden} LSTM, ${formatCount(plan.parameterCount)} parameters; seq ${config.seq}, batch ${config.batch}, lr ${config.lr}`);
          info(`data: ${formatCount(plan.trainChars)} training and ${formatCount(plan.valChars)} validation characters, ${plan.stepsPerEpoch} steps per epoch; checkpoints in ${outDir}`);
          progress.onStart(plan);
        },
        onStep: (p) => progress.onStep(p),
        onValidation: (step, loss, isBest) => progress.onValidation(step, loss, isBest),
      },
      signal: interrupt.signal,
    });
    progress.stop();
    const best = `best val ${paint.bold(result.bestValLoss.toFixed(3))} nats/char (${(result.bestValLoss / Math.LN2).toFixed(3)} bits)`;
    info(
      `${paint.green('done')} (${result.stoppedBy}): ${result.steps} steps, ${result.epoch.toFixed(2)} epochs in ${formatDuration(result.seconds)}, ` +
        `${formatCount(result.charsPerSecond)} chars/s; ${best} → ${result.bestDir}`,
    );
    if (result.stoppedBy === 'interrupted') {
      info(`latest checkpoint: ${result.latestDir}`);
      process.exitCode = interrupt.signal.reason === 'SIGTERM' ? 143 : 130;
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * An explicit -o that already holds checkpoints is refused unless --force; the default
 * checkpoints/<corpus name> gets a numbered sibling instead, so no run overwrites another.
 */
function chooseOutDir(out: string | undefined, corpusPath: string, force: boolean): string {
  if (out !== undefined) {
    if (holdsCheckpoints(out) && !force) throw new UserError(`${out} already holds checkpoints; pass --force to overwrite them or choose another -o`);
    return out;
  }
  const base = join('checkpoints', basename(corpusPath, extname(corpusPath)) || 'run');
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
