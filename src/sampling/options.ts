/**
 * Sampling settings: their type, and one table with each one's flag, default, range and
 * help. `charrnn sample` parses its flags with this table, and the sampler checks what
 * it is handed against it.
 */
import {
  above,
  atLeast,
  atMost,
  defaultsOf,
  integer,
  real,
  repeatableEscapedText,
  text,
  validateValues,
  type OptionSpec,
} from '../options/option.js';

/** How the next character is drawn from the model's logits (distribution.ts). */
export interface Distribution {
  /** Softmax temperature, ≥ 0; 0 = always the likeliest character. */
  temperature: number;
  /** Keep only the k likeliest characters (null: all). */
  topK: number | null;
  /** Keep the smallest set of likeliest characters whose probability adds up to ≥ p (null: all). */
  topP: number | null;
}

/** One sample: what it reads first, how it draws, and when it ends. */
export interface SampleSettings extends Distribution {
  /** Characters to generate after the prime (fewer if a stop string ends it). */
  length: number;
  /** Text the model reads first, and part of the sample; empty: the model reads sampler.ts's `startingContext`, which is not. */
  prime: string;
  /** The sample ends as soon as its generated text ends with one of these; it is kept in the text. */
  stop: readonly string[];
  /** Seeds the sample's own random numbers. */
  seed: number;
}

type SampleTable = { [K in Exclude<keyof SampleSettings, 'seed'>]: OptionSpec<SampleSettings[K]> } & {
  /** No default worth having: callers choose the seed (the command line a random one). */
  seed: OptionSpec<number | undefined>;
};

export const SAMPLE_OPTIONS: SampleTable = {
  length: integer({ flag: '--length', short: '-n', group: 'output', min: 0, default: 500, help: 'characters to generate per sample' }),
  prime: text({
    flag: '--prime',
    placeholder: 'text',
    group: 'output',
    default: '',
    defaultText: 'a newline, read but not printed',
    help:
      'text the model reads first; printed before the generated text. Without it the sample starts as a line of the training text does ' +
      '(a vocabulary without newlines: after its most frequent character)',
    example: '--prime "The "',
  }),
  stop: repeatableEscapedText({
    flag: '--stop',
    placeholder: 'text',
    group: 'output',
    example: "--stop '\\n\\n'",
    help: 'end a sample when its generated text ends with this (kept in the output; \\n, \\t understood; repeatable)',
  }),
  temperature: real({
    flag: '--temperature',
    short: '-t',
    placeholder: 't',
    group: 'distribution',
    range: { min: atLeast(0) },
    default: 1,
    help: 'softmax temperature: lower is safer, higher is wilder; 0 = always the likeliest',
  }),
  topK: integer({
    flag: '--top-k',
    group: 'distribution',
    min: 1,
    default: null,
    help: 'draw only from the n likeliest characters',
    example: '--top-k 5',
  }),
  topP: real({
    flag: '--top-p',
    placeholder: 'p',
    group: 'distribution',
    range: { min: above(0), max: atMost(1) },
    default: null,
    example: '--top-p 0.9',
    help: 'nucleus sampling: draw only from the likeliest characters that together have probability ≥ p',
  }),
  seed: integer({
    flag: '--seed',
    group: 'distribution',
    min: -(2 ** 31),
    default: undefined,
    defaultText: 'random, printed on stderr',
    help: 'random seed: the same seed and checkpoint give the same text; sample k uses seed + k - 1',
  }),
};

/** What a caller that leaves a setting out gets. */
export const SAMPLE_DEFAULTS: Omit<SampleSettings, 'seed'> = defaultsOf(SAMPLE_OPTIONS);

/** Refuses settings the table does not accept, naming the flag. */
export function validateSampleSettings(settings: Partial<SampleSettings>): void {
  validateValues(SAMPLE_OPTIONS, settings);
}
