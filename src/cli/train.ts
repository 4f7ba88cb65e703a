/** `charrnn train [corpus]`: options → corpus → backend → the library's train, resume or fineTune → summary. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { holdsCheckpoints, loadCheckpoint } from '../checkpoint/checkpoint.js';
import type { TrainConfig } from '../training/config.js';
import { readCorpus, type Corpus, type TextEncoding } from '../data/corpus.js';
import { UserError } from '../errors.js';
import { METRICS_FILE, MetricsLog } from '../checkpoint/metrics.js';
import { fineTuneSettings, freshSettings, refuseFixedChanges } from '../training/settings.js';
import { fineTune, resume, train, type TrainingObserver, type TrainResult } from '../training/trainer.js';
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

export async function trainCommand(corpusPath: string | undefined, options: TrainCommandOptions): Promise<void> {
  const { out, force, resume: resumePath, initFrom, extendVocab, threads, backend, encoding, ...settings } = options;
  if (resumePath !== undefined && initFrom !== undefined) throw new UserError('--resume and --init-from cannot be combined');
  // Settings, and a fresh run's corpus, are checked before the backend loads: bad input fails fast.
  if (resumePath !== undefined) refuseFixedChanges(settings);
  else freshSettings(settings);
  const freshCorpus = resumePath === undefined ? readCorpus(corpusPath ?? DEFAULT_CORPUS, encoding) : null;

  const backendInfo = await selectBackend(backend);
  announceBackend(backendInfo);
  const common = { threads, backend: backendInfo.description };
  if (resumePath !== undefined) {
    const checkpoint = loadCheckpoint(resumePath, { resume: true });
    const trained = checkpoint.meta.training.corpus;
    const corpus = readCorpus(corpusPath ?? trained.path, trained.encoding);
    const outDir = out === undefined ? dirname(checkpoint.dir) : chooseOutDir(out, corpus.path, true);
    await reporting(corpus, outDir, checkpoint.dir, (watch) => resume({ checkpoint, corpus, changes: settings, outDir, ...common, ...watch }));
    return;
  }
  const corpus = freshCorpus!;
  const initCheckpoint = initFrom === undefined ? undefined : loadCheckpoint(initFrom);
  if (initCheckpoint) fineTuneSettings(initCheckpoint.meta.model, initCheckpoint.dir, settings); // before a run directory is made
  const outDir = chooseOutDir(out, corpus.path, force ?? false);
  await reporting(corpus, outDir, null, (watch) =>
    initCheckpoint
      ? fineTune({ checkpoint: initCheckpoint, corpus, config: settings, extendVocab, outDir, ...common, ...watch })
      : train({ corpus, config: settings, outDir, ...common, ...watch }),
  );
}

/**
 * Runs `run` with progress on stderr, metrics.jsonl in `outDir`, and SIGINT/SIGTERM
 * stopping it gracefully; then prints the summary. `resumedFrom`: the checkpoint a
 * resumed run continues.
 */
async function reporting(
  corpus: Corpus,
  outDir: string,
  resumedFrom: string | null,
  run: (watch: { observer: TrainingObserver; signal: AbortSignal }) => Promise<TrainResult>,
): Promise<void> {
  const progress = new TrainingProgress();
  const metrics = new MetricsLog(join(outDir, METRICS_FILE), { append: resumedFrom !== null }); // one JSON line per step
  const interrupt = interruptOnSignals(() => progress.stop());
  try {
    const result = await run({ observer: trainingReporter(corpus, outDir, resumedFrom, progress, metrics), signal: interrupt.signal });
    progress.stop();
    printSummary(result, outDir);
    if (result.stoppedBy === 'interrupted') process.exitCode = interrupt.signal.reason === 'SIGTERM' ? 143 : 130;
  } finally {
    metrics.close();
    progress.stop();
    interrupt.dispose();
  }
}

/** The first SIGINT or SIGTERM aborts the returned signal (training finishes its step and saves); a second one exits at once. */
function interruptOnSignals(onFirst: () => void): { signal: AbortSignal; dispose(): void } {
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143); // checkpoints are written atomically
    onFirst();
    info(paint.yellow(`${signal}: finishing this step and saving a checkpoint (again to quit at once)`));
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: interrupt.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** What the user sees while training: the plan, a progress line, rollbacks; and the metrics log. */
function trainingReporter(corpus: Corpus, outDir: string, resumedFrom: string | null, progress: TrainingProgress, metrics: MetricsLog): TrainingObserver {
  return {
    onStart: (plan) => {
      const { config } = plan;
      const notes = corpus.notes.map((n) => `; ${n}`).join('');
      info(`corpus: ${corpus.path} (${formatCount(corpus.bytes)} bytes, ${plan.vocabSize} distinct characters${notes})`);
      info(`model: ${config.layers}×${config.hidden} ${config.cell.toUpperCase()}${config.learnedInit ? ' (learned initial state)' : ''}, ${formatCount(plan.parameterCount)} parameters; seq ${config.seq}, batch ${config.batch}, lr ${config.lr}; ${plan.threads} thread${plan.threads > 1 ? 's' : ''}`);
      if (resumedFrom !== null) info(`resuming ${resumedFrom} at step ${plan.firstStep}`);
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
  };
}

function printSummary(result: TrainResult, outDir: string): void {
  const best = Number.isFinite(result.bestValLoss)
    ? `best val ${paint.bold(result.bestValLoss.toFixed(3))} nats/char (${(result.bestValLoss / Math.LN2).toFixed(3)} bits) → ${result.bestDir}`
    : 'no validation yet';
  info(
    `${paint.green('done')} (${result.stoppedBy}): ${result.steps} steps, ${result.epoch.toFixed(2)} epochs in ${formatDuration(result.seconds)}, ` +
      `${formatCount(result.charsPerSecond)} chars/s; ${best}`,
  );
  if (result.stoppedBy === 'interrupted') info(`latest checkpoint: ${result.latestDir}; to continue: charrnn train --resume ${outDir}`);
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
