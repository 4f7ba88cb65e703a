/**
 * A run's two checkpoints, `<outDir>/latest` and `<outDir>/best`: the weights and
 * vocabulary, the training record (settings, history, corpus), and everything an exact
 * resume needs (Adam's moments and step, the RNG, the carried state, the progress).
 */
import { join } from 'node:path';
import type { ResumeState, TrainingRecord } from '../checkpoint/checkpoint.js';
import { saveCheckpoint } from '../checkpoint/save.js';
import type { Corpus } from '../data/corpus.js';
import type { Vocabulary } from '../data/vocab.js';
import type { CharModel } from '../model/model.js';
import type { Adam } from './adam.js';
import type { TrainConfig } from './config.js';
import type { CheckpointKind } from './observer.js';
import type { RunState } from './starting-point.js';

/** What every checkpoint of a run shares. */
export interface RunIdentity {
  config: TrainConfig;
  corpus: Corpus;
  /** Occurrences of each vocabulary id in the corpus. */
  counts: number[];
  vocab: Vocabulary;
  stepsPerEpoch: number;
  /** Description of the backend, recorded in checkpoints. */
  backend: string;
}

export class RunCheckpoints {
  readonly dirs: Record<CheckpointKind, string>;

  constructor(
    outDir: string,
    private readonly run: RunIdentity,
  ) {
    this.dirs = { latest: join(outDir, 'latest'), best: join(outDir, 'best') };
  }

  /** Writes the `kind` checkpoint (replacing the last one crash-safely); returns its directory. */
  save(kind: CheckpointKind, model: CharModel, adam: Adam, state: RunState, seconds: number): string {
    const { lossSinceEval, lossFloor, lrScale, rollbacks, staleValidations, timeDecay } = state.progress;
    const resume: ResumeState = {
      adamStep: adam.step,
      rngState: state.rng.savedState,
      lossSinceEval,
      minLoss: lossFloor,
      lrScale,
      rollbacks,
      staleValidations,
      timeDecay,
      tensors: [...adam.moments, ...state.carried.flat()],
    };
    saveCheckpoint(this.dirs[kind], model, this.run.vocab, this.record(state, seconds), resume);
    return this.dirs[kind];
  }

  private record({ progress }: RunState, seconds: number): TrainingRecord {
    const { config, corpus, counts, stepsPerEpoch, backend } = this.run;
    const { path, files, encoding, bytes, fingerprint } = corpus;
    return {
      config,
      step: progress.step,
      epoch: progress.step / stepsPerEpoch,
      history: progress.history,
      valLoss: progress.valLoss,
      bestValLoss: progress.bestValLoss,
      backend,
      seconds,
      corpus: { path, files, encoding, bytes, chars: counts.reduce((a, b) => a + b, 0), fingerprint, counts },
    };
  }
}
