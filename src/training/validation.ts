/**
 * The periodic validation: scores the start of the validation split and records the
 * result in the run's progress (history, best loss, validations without a new best).
 */
import type { CharModel } from '../model/model.js';
import { evaluate } from '../scoring/evaluate.js';
import type { TrainConfig } from './config.js';
import type { Progress } from './starting-point.js';

/**
 * Periodic validation scores at most this many characters (the start of the validation
 * split, the same ones each time), so that a 100 MB corpus does not spend minutes on
 * every validation. `charrnn eval` scores the whole split.
 */
const VALIDATION_MAX_CHARS = 200_000;

/**
 * Scores the start of `valIds` and records it in `progress`; returns the loss and
 * whether it is a new best, or null (and records nothing) if `signal` was aborted while
 * scoring. `lr` and `seconds` go into the history entry.
 */
export async function validate(
  model: CharModel,
  valIds: Int32Array,
  config: TrainConfig,
  progress: Progress,
  stepsPerEpoch: number,
  lr: number,
  seconds: number,
  signal: AbortSignal | undefined,
): Promise<{ valLoss: number; isBest: boolean } | null> {
  let valLoss: number;
  try {
    const scored = valIds.subarray(0, VALIDATION_MAX_CHARS);
    valLoss = (await evaluate(model, scored, config.batch, config.seq, signal, { scoreTail: false })).nats;
  } catch (err) {
    if (signal?.aborted) return null;
    throw err;
  }
  const isBest = progress.bestValLoss === null || valLoss < progress.bestValLoss;
  const { step } = progress;
  progress.valLoss = valLoss;
  progress.bestValLoss = isBest ? valLoss : progress.bestValLoss;
  progress.staleValidations = isBest ? 0 : progress.staleValidations + 1;
  const { sum, count } = progress.lossSinceEval;
  progress.history.push({ step, epoch: step / stepsPerEpoch, trainLoss: sum / count, valLoss, lr, seconds });
  progress.lossSinceEval = { sum: 0, count: 0 };
  return { valLoss, isBest };
}
