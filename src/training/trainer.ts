/**
 * Training as the library offers it: a fresh run, an exact resume, or fine-tuning
 * another run's weights. Each applies the rules about settings (settings.ts), checks
 * that the model fits in memory before allocating it, and hands its starting point to
 * the loop (loop.ts).
 */
import { dirname } from 'node:path';
import { trainerThreads } from './data-parallel.js';
import type { LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import type { TrainConfig } from './config.js';
import type { Corpus } from '../data/corpus.js';
import { reopenCorpus } from '../data/sources.js';
import { fineTuneSettings, freshSettings, resumedSettings } from './settings.js';
import { startFresh, startFromResume, startFromWeights, type FitCheck } from './starting-point.js';
import { assertMemoryFits, estimateTrainingMemory } from './memory.js';
import { runTraining, type RunOptions } from './loop.js';
import type { TrainResult } from './observer.js';

export interface TrainOptions extends RunOptions {
  corpus: Corpus;
  /** Changes to `TRAIN_DEFAULTS`. */
  config?: Partial<TrainConfig>;
}

export interface ResumeOptions extends Omit<RunOptions, 'outDir'> {
  /** The checkpoint to continue, loaded with `{ resume: true }`. */
  checkpoint: LoadedCheckpoint;
  /** The text it was trained on. Default: read again from the path (and encoding) its training record names. */
  corpus?: Corpus;
  /** Changes to its settings: only the `RESUMABLE` ones (settings.ts) may change. */
  changes?: Partial<TrainConfig>;
  /** Default: the run directory the checkpoint is in. */
  outDir?: string;
}

export interface FineTuneOptions extends RunOptions {
  /** Whose weights to train further, with a fresh optimiser and history. */
  checkpoint: LoadedCheckpoint;
  corpus: Corpus;
  /** Changes to `TRAIN_DEFAULTS`; the model's shape is the checkpoint's. */
  config?: Partial<TrainConfig>;
  /** Append the corpus's characters the checkpoint lacks to its vocabulary (else they stop the run). */
  extendVocab?: boolean;
}

/** A fresh run on `corpus`. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = freshSettings(options.config ?? {});
  const { threads } = trainerThreads(options.threads, config.batch);
  return runTraining(options.corpus, config, startFresh(options.corpus, config, fitCheck(config, threads)), options);
}

/** Continues a run exactly where its checkpoint stopped, on the same text. */
export async function resume(options: ResumeOptions): Promise<TrainResult> {
  const { checkpoint } = options;
  const trained = checkpoint.meta.training;
  const config = resumedSettings(trained.config, options.changes ?? {});
  const corpus = options.corpus ?? reopenCorpus(trained.corpus);
  const outDir = options.outDir ?? dirname(checkpoint.dir);
  fitCheck(config, trainerThreads(options.threads, config.batch).threads)(checkpoint.model.config);
  return runTraining(corpus, config, startFromResume(corpus, checkpoint), { ...options, outDir });
}

/** Trains a checkpoint's weights further on `corpus`, with a fresh optimiser. */
export async function fineTune(options: FineTuneOptions): Promise<TrainResult> {
  const { checkpoint, corpus } = options;
  const config = fineTuneSettings(checkpoint.meta.model, checkpoint.dir, options.config ?? {});
  const { threads } = trainerThreads(options.threads, config.batch);
  return runTraining(
    corpus,
    config,
    startFromWeights(corpus, config, checkpoint, options.extendVocab ?? false, fitCheck(config, threads)),
    options,
  );
}

/** Refuses, from the shapes and before anything is allocated, a model that cannot be trained here at these settings (memory.ts). */
function fitCheck(config: TrainConfig, threads: number): FitCheck {
  return (shape) => {
    const { vocabSize: V, layers, hidden, cell } = shape;
    const shapeText = `a ${layers}×${hidden} ${cell.toUpperCase()} over ${V} characters`;
    const what = `${shapeText} at seq ${config.seq}, batch ${config.batch} on ${threads} thread${threads > 1 ? 's' : ''}`;
    assertMemoryFits(
      estimateTrainingMemory(shape, { seq: config.seq, batch: config.batch, threads }),
      what,
      'make --hidden, --layers, --seq or --batch smaller',
    );
  };
}
