/**
 * The library's `train`, `resume` and `fineTune`: trainer.ts's, holding the run
 * directory's lock (run-directory.ts) while they run, so that a second writer into the
 * directory, library or CLI, is refused with an `OutputError` as `charrnn train` refuses
 * it. The CLI claims the directory itself, before the backend loads, and calls trainer.ts.
 * A stale lock is taken over silently (the library does not print).
 */
import { dirname } from 'node:path';
import { claimRunDirectory } from '../checkpoint/run-directory.js';
import * as trainer from './trainer.js';
import type { FineTuneOptions, ResumeOptions, TrainOptions } from './trainer.js';
import type { TrainResult } from './observer.js';

/** A fresh run on `options.corpus` in `options.outDir`. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  return holding(options.outDir, 'train', () => trainer.train(options));
}

/** Continues a run exactly where its checkpoint stopped, in its own run directory unless `options.outDir`. */
export async function resume(options: ResumeOptions): Promise<TrainResult> {
  const outDir = options.outDir ?? dirname(options.checkpoint.dir);
  return holding(outDir, 'resume', () => trainer.resume({ ...options, outDir }));
}

/** Trains a checkpoint's weights further on `options.corpus`, with a fresh optimiser, in `options.outDir`. */
export async function fineTune(options: FineTuneOptions): Promise<TrainResult> {
  return holding(options.outDir, 'fineTune', () => trainer.fineTune(options));
}

async function holding(outDir: string, name: string, run: () => Promise<TrainResult>): Promise<TrainResult> {
  const claim = claimRunDirectory(outDir, `${name}() in node ${process.argv.slice(1).join(' ')}`);
  try {
    return await run();
  } finally {
    claim.release();
  }
}
