/**
 * The divergence guard's memory: a copy of everything a training step changes, taken
 * at known-good points, to go back to when the loss turns non-finite or explodes.
 * Copies are cheap: tfjs clones share data until the variables are reassigned.
 */
import * as tf from '../tf.js';
import type { Adam } from './adam.js';
import type { LstmState } from '../cells/lstm.js';
import type { CharModel } from '../model/model.js';
import type { Progress } from './starting-point.js';

interface Snapshot {
  tensors: tf.Tensor[]; // weights, then Adam's moments
  carried: LstmState[];
  adamStep: number;
  rngState: number;
  progress: Progress;
}

export class RollbackPoint {
  private snapshot: Snapshot | null = null;

  constructor(
    private readonly model: CharModel,
    private readonly adam: Adam,
  ) {}

  get step(): number {
    return this.snapshot?.progress.step ?? 0;
  }

  take(carried: LstmState[], rngState: number, progress: Progress): void {
    this.dispose();
    this.snapshot = {
      tensors: [...this.model.variables, ...this.adam.moments].map((v) => v.clone()),
      carried: carried.map(({ h, c }) => ({ h: h.clone(), c: c.clone() })),
      adamStep: this.adam.step,
      rngState,
      progress: structuredClone(progress),
    };
  }

  /** Puts weights and optimiser back; returns the carried state (the caller owns it), RNG state and progress. */
  restore(): { carried: LstmState[]; rngState: number; progress: Progress } {
    const s = this.snapshot;
    if (!s) throw new Error('no rollback point taken');
    [...this.model.variables, ...this.adam.moments].forEach((v, k) => v.assign(s.tensors[k]));
    this.adam.step = s.adamStep;
    return {
      carried: s.carried.map(({ h, c }) => ({ h: h.clone(), c: c.clone() })),
      rngState: s.rngState,
      progress: structuredClone(s.progress),
    };
  }

  dispose(): void {
    if (!this.snapshot) return;
    tf.dispose([...this.snapshot.tensors, ...this.snapshot.carried.flatMap(({ h, c }) => [h, c])]);
    this.snapshot = null;
  }
}
