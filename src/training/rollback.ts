/**
 * The divergence guard's memory: a copy of everything a training step changes, taken
 * at known-good points, to go back to when the loss turns non-finite or explodes.
 * Copies are cheap: tfjs clones share data until the variables are reassigned.
 */
import * as tf from '../tf.js';
import type { Adam } from './adam.js';
import { disposeState, type RecurrentState } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';
import type { Progress, RunState } from './starting-point.js';
import { TrainingDivergedError } from '../errors.js';
import { Rng } from '../rng.js';

/** Rollbacks (each halving the learning rate) before the run gives up. */
const MAX_ROLLBACKS = 3;

/** A loss above this multiple of the loss floor (below) may be exploding... */
const EXPLOSION_FACTOR = 3;
/**
 * ...if it is also this many nats per character above the floor. On easy text the loss
 * falls to hundredths of a nat or less, and a harder batch triples it (on `abab…`, each
 * epoch's first: its streams start from a zero state and must find their phase), but the
 * model is fine. A real blow-up moves the loss by whole nats (towards ln(vocabulary size)
 * and past it), or to NaN.
 */
const EXPLOSION_MARGIN = 1;

/**
 * The loss floor moves towards each step's loss: down by at most 10% a step, up by 1%. With
 * small batches (4 streams of 8 characters)
 * one lucky batch reads far below the model's usual loss, and an ordinary hard batch after
 * it reads three times the lowest: a floor that only moves by steps does not take the lucky
 * batch for the model's level, nor keep it for long.
 */
const FLOOR_FALL = 0.9;
const FLOOR_RISE = 1.01;

/** The floor the next step's loss is judged against, after a step with this loss (Infinity before the first). */
export function nextLossFloor(floor: number, loss: number): number {
  if (floor === Infinity) return loss;
  return Math.min(floor * FLOOR_RISE, Math.max(loss, floor * FLOOR_FALL));
}

/** Whether a loss is non-finite, or far enough above the floor to be a blow-up. */
function overTheLine(loss: number, floor: number): boolean {
  return !Number.isFinite(loss) || (loss > EXPLOSION_FACTOR * floor && loss > floor + EXPLOSION_MARGIN);
}

/**
 * Whether a step's loss means training blew up, given the loss floor so far: a non-finite
 * loss, or one over the line whose next batch, scored with the weights the step left
 * (`nextLoss`, called only then), is over it too. A hard batch is followed by ordinary
 * losses (4 streams of 8 characters of corpora/tiny.txt: each epoch's last batch holds
 * phrases the text has once, and reads over 3× the floor every epoch); a blow-up persists.
 */
export function isDivergence(loss: number, floor: number, nextLoss: () => number): boolean {
  if (!Number.isFinite(loss)) return true;
  return overTheLine(loss, floor) && overTheLine(nextLoss(), floor);
}

interface Snapshot {
  tensors: tf.Tensor[]; // weights, then Adam's moments
  carried: RecurrentState[];
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

  take(carried: RecurrentState[], rngState: number, progress: Progress): void {
    this.dispose();
    this.snapshot = {
      tensors: [...this.model.variables, ...this.adam.moments].map((v) => v.clone()),
      carried: cloneState(carried),
      adamStep: this.adam.step,
      rngState,
      progress: structuredClone(progress),
    };
  }

  /** Puts weights and optimiser back; returns the carried state (the caller owns it), RNG state and progress. */
  restore(): { carried: RecurrentState[]; rngState: number; progress: Progress } {
    const s = this.snapshot;
    if (!s) throw new Error('no rollback point taken');
    [...this.model.variables, ...this.adam.moments].forEach((v, k) => v.assign(s.tensors[k]));
    this.adam.step = s.adamStep;
    return {
      carried: cloneState(s.carried),
      rngState: s.rngState,
      progress: structuredClone(s.progress),
    };
  }

  dispose(): void {
    if (!this.snapshot) return;
    tf.dispose([...this.snapshot.tensors, ...this.snapshot.carried.flat()]);
    this.snapshot = null;
  }
}

/**
 * The loss diverged (`loss` at step `divergedAt`): the state of the last rollback point,
 * with half the learning rate (disposes `state.carried`). After `MAX_ROLLBACKS` the run
 * gives up, saying which checkpoints in `outDir` are still good.
 */
export function rollBack(rollback: RollbackPoint, state: RunState, loss: number, divergedAt: number, outDir: string): RunState {
  const { progress } = state;
  if (progress.rollbacks >= MAX_ROLLBACKS) {
    const kept = rollback.step > 0 ? `the checkpoints in ${outDir} are from step ${rollback.step} or before` : 'no checkpoint was written';
    throw new TrainingDivergedError(
      `training diverged (loss ${loss.toFixed(3)} at step ${divergedAt}) ${MAX_ROLLBACKS + 1} times, ` +
        `the last at 1/${2 ** MAX_ROLLBACKS} of the learning rate; ${kept}; try a lower --lr or --clip`,
    );
  }
  const restored = rollback.restore();
  disposeState(state.carried);
  return {
    carried: restored.carried,
    rng: new Rng(restored.rngState),
    progress: { ...restored.progress, rollbacks: progress.rollbacks + 1, lrScale: progress.lrScale / 2 },
  };
}

function cloneState(state: RecurrentState[]): RecurrentState[] {
  return state.map((layer) => layer.map((t) => t.clone()));
}
