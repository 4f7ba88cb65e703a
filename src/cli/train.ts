/** `charrnn train [corpus]`: options → corpus → backend → training loop → summary. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { holdsCheckpoints, loadCheckpoint } from '../checkpoint/checkpoint.js';
import { flagName, TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../training/config.js';
import { readCorpus, type TextEncoding } from '../data/corpus.js';
import { UserError } from '../errors.js';
import { METRICS_FILE, MetricsLog } from '../checkpoint/metrics.js';
import { train } from '../training/trainer.js';
import { announceBackend } from './announce.js';
import { formatCount, formatDuration, info, paint } from './output.js';
import { TrainingProgress } from './progress.js';

export const DEFAULT_CORPUS = fileURLToPath(new URL('../../corpora/default.txt', import.meta.url));

export interface TrainCommandOptions extends Partial<TrainConfig> {
  out?: string;
  force?: boolean;
  resume?: string;
  initFrom?: string;
  extendVocab?: boolean;
  threads?: number;
  backend: BackendChoice;
  encoding: TextEncoding;
}

/** What may change when a run is resumed: how long it goes on, and how often it reports. */
const RESUMABLE: (keyof TrainConfig)[] = ['epochs', 'maxSteps', 'maxSeconds', 'patience', 'evalEvery', 'saveEvery'];

export async function trainCommand(corpusPath: string | undefined, options: TrainCommandOptions): Promise<void> {
  const { out, force, resume, initFrom, extendVocab, threads, backend, encoding, ...overrides } = options;
  const flags = definedOnly(overrides);
  if (resume !== undefined && initFrom !== undefined) throw new UserError('--resume and --init-from cannot be combined');
  const fixed = Object.keys(flags).filter((key) => !RESUMABLE.includes(key as keyof TrainConfig));
  if (resume !== undefined && fixed.length > 0) {
    throw new UserError(`--${flagName(fixed[0])} cannot change when resuming; a resumed run keeps its settings (only ${RESUMABLE.map((k) => `--${flagName(k)}`).join(', ')} may)`);
  }
  // A fresh run checks its corpus and settings before the backend loads: bad input fails fast.
  let config: TrainConfig = { ...TRAIN_DEFAULTS, ...flags };
  let corpus = resume === undefined ? readCorpus(corpusPath ?? DEFAULT_CORPUS, encoding) : null;
  if (resume === undefined) validateTrainConfig(config);

  const backendInfo = await selectBackend(backend);
  announceBackend(backendInfo);
  const resumeFrom = resume === undefined ? undefined : loadCheckpoint(resume, { resume: true });
  const initCheckpoint = initFrom === undefined ? undefined : loadCheckpoint(initFrom);
  if (initCheckpoint) {
    // Fine-tuning keeps the checkpoint's shape: say so rather than ignore a flag.
    const { layers, hidden, cell, learnedInit } = initCheckpoint.meta.model;
    const shape = { layers, hidden, cell, learnedInit };
    for (const [key, value] of Object.entries(shape) as [keyof typeof shape, unknown][]) {
      if (flags[key] !== undefined && flags[key] !== value) {
        throw new UserError(`--${flagName(key)} ${flags[key]} does not match ${initCheckpoint.dir} (${value}); --init-from keeps its model's shape`);
      }
    }
    config = { ...config, ...shape };
  }
  if (resumeFrom) {
    const trained = resumeFrom.meta.training;
    config = { ...trained.config, ...flags };
    corpus = readCorpus(corpusPath ?? trained.corpus.path, trained.corpus.encoding);
  }
  const outDir = resumeFrom && out === undefined ? dirname(resumeFrom.dir) : chooseOutDir(out, corpus!.path, (force ?? false) || resumeFrom !== undefined);

  const progress = new TrainingProgress();
  const metrics = new MetricsLog(join(outDir, METRICS_FILE), { append: resumeFrom !== undefined }); // one JSON line per step
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
      corpus: corpus!,
      config,
      outDir,
      resumeFrom,
      initFrom: initCheckpoint,
      extendVocab,
      threads,
      backend: backendInfo.description,
      observer: {
        onStart: (plan) => {
          const notes = corpus!.notes.map((n) => `; ${n}`).join('');
          info(`corpus: ${corpus!.path} (${formatCount(corpus!.bytes)} bytes, ${plan.vocabSize} distinct characters${notes})`);
          info(`model: ${config.layers}×${config.hidden} ${config.cell.toUpperCase()}${config.learnedInit ? ' (learned initial state)' : ''}, ${formatCount(plan.parameterCount)} parameters; seq ${config.seq}, batch ${config.batch}, lr ${config.lr}; ${plan.threads} thread${plan.threads > 1 ? 's' : ''}`);
          if (resumeFrom) info(`resuming ${resumeFrom.dir} at step ${plan.firstStep}`);
          info(`data: ${formatCount(plan.trainChars)} training and ${formatCount(plan.valChars)} validation characters, ${plan.stepsPerEpoch} steps per epoch; checkpoints in ${outDir}`);
          progress.onStart(plan);
          metrics.open();
        },
        onStep: (p) => {
          metrics.step(p);
          progress.onStep(p);
        },
        onValidation: (step, loss, isBest) => {
          metrics.validation(step, loss);
          progress.onValidation(step, loss, isBest);
        },
        onRollback: (step, loss, backTo, lr) => {
          progress.stop();
          info(paint.yellow(`loss ${loss.toFixed(3)} at step ${step} diverged: back to step ${backTo} with learning rate ${lr.toPrecision(3)}`));
        },
      },
      signal: interrupt.signal,
    });
    progress.stop();
    const best = Number.isFinite(result.bestValLoss)
      ? `best val ${paint.bold(result.bestValLoss.toFixed(3))} nats/char (${(result.bestValLoss / Math.LN2).toFixed(3)} bits) → ${result.bestDir}`
      : 'no validation yet';
    info(
      `${paint.green('done')} (${result.stoppedBy}): ${result.steps} steps, ${result.epoch.toFixed(2)} epochs in ${formatDuration(result.seconds)}, ` +
        `${formatCount(result.charsPerSecond)} chars/s; ${best}`,
    );
    if (result.stoppedBy === 'interrupted') {
      info(`latest checkpoint: ${result.latestDir}; to continue: charrnn train --resume ${outDir}`);
      process.exitCode = interrupt.signal.reason === 'SIGTERM' ? 143 : 130;
    }
  } finally {
    metrics.close();
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
    return assertWritable(out);
  }
  const base = join('checkpoints', basename(corpusPath, extname(corpusPath)) || 'run');
  let dir = base;
  for (let n = 2; holdsCheckpoints(dir); n++) dir = `${base}-${n}`;
  return assertWritable(dir);
}

/** Creates `dir` and writes a probe file, so a run cannot train for hours and then fail to save. */
function assertWritable(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new UserError(`cannot write checkpoints to ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 6);
  }
  return dir;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
