/**
 * When a run validates and writes its latest checkpoint. Without a budget: every
 * DEFAULT_CHECK_STEPS steps. A budget (--max-steps, --max-time) is divided into
 * CHECKS_PER_BUDGET parts instead, so a short run is not all validation and a long one
 * still keeps its best checkpoint often enough. --eval-every / --save-every override it.
 */
import type { TrainConfig } from './config.js';

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
