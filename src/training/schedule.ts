/**
 * When a run validates, writes its latest checkpoint, and stops. Without a budget: every
 * DEFAULT_CHECK_STEPS steps. A budget (--max-steps, --max-time) is divided into
 * CHECKS_PER_BUDGET parts instead, so a short run is not all validation and a long one
 * still keeps its best checkpoint often enough. --eval-every / --save-every override it.
 */
import type { TrainConfig } from './config.js';
import type { StopReason, TrainingPlan } from './observer.js';

/** Validations (each with a write of the latest checkpoint) a budget is divided into, unless --eval-every / --save-every say otherwise. */
export const CHECKS_PER_BUDGET = 20;
/** Without a budget: every this many steps. */
export const DEFAULT_CHECK_STEPS = 100;

export type Interval = { steps: number } | { seconds: number };

/**
 * How often to validate (or save): every `given` steps if the flag was given; else a
 * twentieth of the budget (in steps for --max-steps, in seconds for --max-time alone);
 * else every DEFAULT_CHECK_STEPS steps.
 */
export function checkInterval(given: number | null, config: Pick<TrainConfig, 'maxSteps' | 'maxSeconds'>, totalSteps: number): Interval {
  if (given !== null) return { steps: given };
  if (config.maxSteps !== null) return { steps: Math.max(1, Math.ceil(totalSteps / CHECKS_PER_BUDGET)) };
  if (config.maxSeconds !== null) return { seconds: config.maxSeconds / CHECKS_PER_BUDGET };
  return { steps: DEFAULT_CHECK_STEPS };
}

/** Whether a validation (or a save) is due: every so many steps, or every so many seconds of this process. */
export class Cadence {
  private nextSeconds: number;

  constructor(private readonly interval: Interval) {
    this.nextSeconds = 'seconds' in interval ? interval.seconds : Infinity;
  }

  due(step: number, secondsHere: number): boolean {
    if ('steps' in this.interval) return step % this.interval.steps === 0;
    if (secondsHere < this.nextSeconds) return false;
    while (this.nextSeconds <= secondsHere) this.nextSeconds += this.interval.seconds;
    return true;
  }
}

/** Why the run stops after `step`, if it does: its length, its time (`secondsHere`, this process's), or an abort. */
export function stopReason(
  step: number,
  plan: TrainingPlan,
  config: TrainConfig,
  secondsHere: number,
  signal: AbortSignal | undefined,
): StopReason | null {
  if (step >= plan.totalSteps) return step >= (config.epochs ?? Infinity) * plan.stepsPerEpoch ? 'epochs' : 'max-steps';
  if (config.maxSeconds !== null && secondsHere >= config.maxSeconds) return 'max-time';
  return signal?.aborted ? 'interrupted' : null;
}
