/** `charrnn train [corpus...]`: options → corpus → backend → the library's train, resume or fineTune → summary. */
import { constants as osConstants } from 'node:os';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import {
  claimNewRunDirectory,
  claimRunDirectory,
  describeHolder,
  holdsRun,
  LOCK_FILE,
  type RunClaim,
} from '../checkpoint/run-directory.js';
import type { Corpus } from '../data/corpus.js';
import { readCorpusFrom, reopenCorpus, STDIN } from '../data/sources.js';
import { UserError } from '../errors.js';
import { METRICS_FILE, MetricsLog } from '../checkpoint/metrics.js';
import { fineTuneSettings, freshSettings, refuseFixedChanges } from '../training/settings.js';
import { fineTune, resume, train } from '../training/trainer.js';
import type { TrainingObserver, TrainingPlan, TrainResult } from '../training/observer.js';
import { announceBackend } from './announce.js';
import { formatCount, formatDuration, info, paint } from './output.js';
import { TrainingProgress } from './progress.js';
import type { TrainCommandOptions } from './commands.js';

export const DEFAULT_CORPUS = fileURLToPath(new URL('../../corpora/default.txt', import.meta.url));

export async function trainCommand(sources: string[], options: TrainCommandOptions): Promise<void> {
  const { out, force, resume: resumePath, initFrom, extendVocab, threads, backend, encoding, ...settings } = options;
  if (resumePath !== undefined && initFrom !== undefined) throw new UserError('--resume and --init-from cannot be combined');
  if (extendVocab && initFrom === undefined)
    throw new UserError('--extend-vocab only applies with --init-from (fine-tuning another run on a new text)');
  // Settings, and a fresh run's corpus, are checked before the backend loads: bad input fails fast.
  if (resumePath !== undefined) refuseFixedChanges(settings);
  else freshSettings(settings);
  const freshCorpus = resumePath === undefined ? readCorpusFrom(sources.length ? sources : [DEFAULT_CORPUS], encoding) : null;
  // The run directory is claimed before the backend loads: a second run there, or one that cannot be written, stops now.
  const resumeDir = resumePath === undefined ? undefined : resolveCheckpointDir(resumePath, 'latest');
  const run = claimOutDir(out, freshCorpus?.path, resumeDir, force ?? false);
  const outDir = run.dir;
  try {
    const backendInfo = await selectBackend(backend);
    announceBackend(backendInfo);
    const common = { threads, backend: backendInfo.description };
    if (resumeDir !== undefined) {
      const checkpoint = loadCheckpoint(resumeDir, { resume: true });
      const trained = checkpoint.meta.training.corpus;
      const corpus = sources.length ? readCorpusFrom(sources, trained.encoding) : reopenCorpus(trained);
      await reporting(corpus, outDir, checkpoint.dir, (watch) =>
        resume({ checkpoint, corpus, changes: settings, outDir, ...common, ...watch }),
      );
      return;
    }
    const corpus = freshCorpus!;
    const initCheckpoint = initFrom === undefined ? undefined : loadCheckpoint(initFrom);
    if (initCheckpoint) fineTuneSettings(initCheckpoint.meta.model, initCheckpoint.dir, settings);
    await reporting(corpus, outDir, null, (watch) =>
      initCheckpoint
        ? fineTune({ checkpoint: initCheckpoint, corpus, config: settings, extendVocab, outDir, ...common, ...watch })
        : train({ corpus, config: settings, outDir, ...common, ...watch }),
    );
  } finally {
    run.release();
  }
}

/**
 * Runs `run` with progress on stderr, metrics.jsonl in `outDir`, and SIGINT, SIGTERM or
 * SIGHUP stopping it gracefully; then prints the summary. `resumedFrom`: the checkpoint a
 * resumed run continues.
 */
async function reporting(
  corpus: Corpus,
  outDir: string,
  resumedFrom: string | null,
  run: (watch: { observer: TrainingObserver; signal: AbortSignal }) => Promise<TrainResult>,
): Promise<void> {
  const progress = new TrainingProgress();
  // One JSON line per step; a run resumed into another directory continues a copy of its file.
  const ownRun = resumedFrom === null ? null : dirname(resumedFrom);
  const resumedHere = ownRun !== null && resolvePath(outDir) === resolvePath(ownRun);
  const metrics = new MetricsLog(join(outDir, METRICS_FILE), {
    append: resumedHere,
    continueFrom: ownRun !== null && !resumedHere ? join(ownRun, METRICS_FILE) : undefined,
  });
  const saves = new SaveRecord();
  const interrupt = interruptOnSignals(
    () => progress.stop(),
    (signal) => info(paint.yellow(`${signal} again: leaving now; ${saves.describe(outDir)}`)),
  );
  let failed = true;
  try {
    const result = await run({
      observer: trainingReporter(corpus, outDir, resumedFrom, progress, metrics, saves),
      signal: interrupt.signal,
    });
    progress.stop();
    printSummary(result, outDir);
    if (result.stoppedBy === 'interrupted') process.exitCode = exitCodeOf(interrupt.signal.reason as NodeJS.Signals);
    failed = false;
  } finally {
    try {
      metrics.close();
    } catch (err) {
      if (!failed) throw err; // the first failure is the one to report
    }
    progress.stop();
    interrupt.dispose();
  }
}

/** Ctrl-C, kill, and the terminal closing: each saves the latest checkpoint before the run stops. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const exitCodeOf = (signal: NodeJS.Signals) => 128 + osConstants.signals[signal];

/** The step of the last checkpoint of each kind this run wrote: what a second Ctrl-C leaves behind. */
export class SaveRecord {
  private step = 0;
  private readonly saved: Partial<Record<'latest' | 'best', number>> = {};

  onStep(step: number): void {
    this.step = step;
  }

  onCheckpoint(kind: 'latest' | 'best'): void {
    this.saved[kind] = this.step;
  }

  describe(outDir: string): string {
    const { latest, best } = this.saved;
    if (latest === undefined && best === undefined) return `this run has saved nothing in ${outDir} yet`;
    const kept = [latest === undefined ? null : `latest/ holds step ${latest}`, best === undefined ? null : `best/ step ${best}`];
    const first = (latest ?? 0) + 1;
    const lost =
      this.step < first ? '' : first === this.step ? `; step ${first} is not saved` : `; steps ${first}–${this.step} are not saved`;
    return `in ${outDir}, ${kept.filter((k) => k !== null).join(', ')}${lost}`;
  }
}

/**
 * The first of STOP_SIGNALS aborts the returned signal (training finishes its step and
 * saves); a second one says what is saved (`onLeave`) and exits at once. Signals that
 * queued up while this thread was busy (a long step) arrive together and count as one, so
 * two impatient Ctrl-Cs still leave a checkpoint: only a signal after the first was
 * handled means "leave now".
 */
function interruptOnSignals(onFirst: () => void, onLeave: (signal: NodeJS.Signals) => void): { signal: AbortSignal; dispose(): void } {
  const interrupt = new AbortController();
  let firstPending = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      if (firstPending) return;
      onLeave(signal);
      process.exit(exitCodeOf(signal)); // checkpoints are written atomically
    }
    onFirst();
    info(paint.yellow(`${signal}: finishing this step and saving a checkpoint (again to quit at once)`));
    interrupt.abort(signal);
    firstPending = true;
    setImmediate(() => (firstPending = false));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: interrupt.signal,
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

/** What the user sees while training: the plan, a progress line, rollbacks; and the metrics log. */
function trainingReporter(
  corpus: Corpus,
  outDir: string,
  resumedFrom: string | null,
  progress: TrainingProgress,
  metrics: MetricsLog,
  saves: SaveRecord,
): TrainingObserver {
  return {
    onStart: (plan) => {
      for (const line of planLines(plan, corpus, outDir, resumedFrom)) info(line);
      progress.onStart(plan);
      metrics.open();
    },
    onStep: (p) => {
      saves.onStep(p.step);
      metrics.step(p);
      progress.onStep(p);
    },
    onCheckpoint: (kind) => saves.onCheckpoint(kind),
    onValidation: (step, loss, isBest) => {
      metrics.validation(step, loss);
      progress.onValidation(step, loss, isBest);
    },
    onRollback: (step, loss, backTo, lr) => {
      progress.stop();
      info(
        paint.yellow(`loss ${loss.toFixed(3)} at step ${step} diverged: back to step ${backTo} with learning rate ${lr.toPrecision(3)}`),
      );
    },
  };
}

/** What the run will do, printed at its start: the corpus, the model, the threads, the data and where checkpoints go. */
function planLines(plan: TrainingPlan, corpus: Corpus, outDir: string, resumedFrom: string | null): string[] {
  const { config } = plan;
  const notes = corpus.notes.map((n) => `; ${n}`).join('');
  const files = corpus.files.length > 1 ? `${corpus.files.length} files, ` : '';
  const lines = [
    `corpus: ${corpus.path === STDIN ? 'standard input' : corpus.path} ` +
      `(${files}${formatCount(corpus.bytes)} bytes, ${plan.vocabSize} distinct characters${notes})`,
    `model: ${config.layers}×${config.hidden} ${config.cell.toUpperCase()}${config.learnedInit ? ' (learned initial state)' : ''}, ` +
      `${formatCount(plan.parameterCount)} parameters; seq ${config.seq}, batch ${config.batch}, lr ${config.lr}; ` +
      `${plan.threads} thread${plan.threads > 1 ? 's' : ''}`,
  ];
  if (plan.threadsNote) lines.push(plan.threadsNote);
  if (resumedFrom !== null) lines.push(`resuming ${resumedFrom} at step ${plan.firstStep}`);
  lines.push(
    `data: ${formatCount(plan.trainChars)} training and ${formatCount(plan.valChars)} validation characters, ` +
      `${plan.stepsPerEpoch} steps per epoch; checkpoints in ${outDir}`,
  );
  return lines;
}

function printSummary(result: TrainResult, outDir: string): void {
  const best = Number.isFinite(result.bestValLoss)
    ? `best val ${paint.bold(result.bestValLoss.toFixed(3))} nats/char ` +
      `(${(result.bestValLoss / Math.LN2).toFixed(3)} bits) → ${result.bestDir}`
    : 'no validation yet';
  info(
    `${paint.green('done')} (${result.stoppedBy}): ${result.steps} steps, ` +
      `${result.epoch.toFixed(2)} epochs in ${formatDuration(result.seconds)}, ` +
      `${formatCount(result.charsPerSecond)} chars/s; ${best}`,
  );
  if (result.stoppedBy === 'interrupted') info(`latest checkpoint: ${result.latestDir}; to continue: charrnn train --resume ${outDir}`);
}

/**
 * The run directory, claimed (run-directory.ts). By default checkpoints/<corpus name>, or
 * a numbered sibling if that exists; a resumed run keeps its own. A directory holding
 * another run is refused unless --force, on every path: -o, and --resume with -o elsewhere.
 */
function claimOutDir(out: string | undefined, corpusPath: string | undefined, resumeDir: string | undefined, force: boolean): RunClaim {
  const command = `charrnn ${process.argv.slice(2).join(' ')}`;
  const ownRun = resumeDir === undefined ? undefined : dirname(resumeDir);
  const run =
    out === undefined && ownRun === undefined
      ? claimNewRunDirectory(
          join('checkpoints', corpusPath === STDIN ? 'stdin' : basename(corpusPath!, extname(corpusPath!)) || 'run'),
          command,
        )
      : claimRunDirectory(out ?? ownRun!, command);
  const another = ownRun === undefined || resolvePath(run.dir) !== resolvePath(ownRun);
  if (another && !force && holdsRun(run.dir)) {
    run.release();
    throw new UserError(
      `${run.dir} already holds another run's checkpoints or metrics; pass --force to overwrite them or choose another -o`,
    );
  }
  if (run.tookOverFrom)
    info(paint.yellow(`${join(run.dir, LOCK_FILE)}: took over the lock of a run that is gone: ${describeHolder(run.tookOverFrom)}`));
  return run;
}
