/**
 * What a checkpoint's metadata (model.json's "charrnn" object) and a metrics.jsonl line
 * must hold, checked field by field when they are read, so that a hand-edited or damaged
 * file is refused with the name of the bad field instead of giving NaN, undefined or a
 * TypeError later. A schema is a function from an unknown JSON value to the typed value;
 * it throws a FieldError naming the first field that does not fit.
 */
import { CELL_TYPES } from '../cells/registry.js';
import type { OptionSpec } from '../options/option.js';
import { TRAIN_OPTIONS, type TrainConfig } from '../training/config.js';

export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
    this.name = 'FieldError';
  }
}

export type Schema<T> = (value: unknown, field: string) => T;

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function expect<T>(test: (value: unknown) => boolean, expected: string): Schema<T> {
  return (value, field) => {
    if (value === undefined) throw new FieldError(field, `is missing (expected ${expected})`);
    if (!test(value)) throw new FieldError(field, `should be ${expected}, not ${describe(value)}`);
    return value as T;
  };
}

export const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  expect(
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
    max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`,
  );
/** A finite number in [min, max] (JSON has no NaN or Infinity; it writes them as null). */
export const number = (min = -Infinity, max = Infinity): Schema<number> =>
  expect(
    (v) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max,
    min === -Infinity ? 'a number' : max === Infinity ? `a number ≥ ${min}` : `a number in [${min}, ${max}]`,
  );
export const string: Schema<string> = expect((v) => typeof v === 'string', 'a string');
export const boolean: Schema<boolean> = expect((v) => typeof v === 'boolean', 'true or false');
export const oneOf = <T extends string>(choices: readonly T[]): Schema<T> =>
  expect((v) => choices.includes(v as T), `one of ${choices.join(', ')}`);
export const hex = (length: number): Schema<string> =>
  expect((v) => typeof v === 'string' && new RegExp(`^[0-9a-f]{${length}}$`).test(v), `${length} hex digits`);

/** null or absent stand for "none". */
export const nullable =
  <T>(schema: Schema<T>): Schema<T | null> =>
  (value, field) =>
    value === null || value === undefined ? null : schema(value, field);

/** May be absent (older checkpoints lack it). */
export const optional =
  <T>(schema: Schema<T>): Schema<T | undefined> =>
  (value, field) =>
    value === undefined ? undefined : schema(value, field);

export const array =
  <T>(item: Schema<T>): Schema<T[]> =>
  (value, field) => {
    if (value === undefined) throw new FieldError(field, 'is missing (expected a list)');
    if (!Array.isArray(value)) throw new FieldError(field, `should be a list, not ${describe(value)}`);
    return value.map((v, k) => item(v, `${field}[${k}]`));
  };

type Shape = Record<string, Schema<unknown>>;
type Typed<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** An object with these fields (others are kept as they are: a later charrnn may add some). */
export const object =
  <S extends Shape>(shape: S): Schema<Typed<S>> =>
  (value, field) => {
    if (value === undefined) throw new FieldError(field, 'is missing (expected an object)');
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new FieldError(field, `should be an object, not ${describe(value)}`);
    const out: Record<string, unknown> = { ...value };
    for (const [key, schema] of Object.entries(shape)) {
      const checked = schema((value as Record<string, unknown>)[key], `${field}.${key}`);
      if (checked === undefined) delete out[key];
      else out[key] = checked;
    }
    return out as Typed<S>;
  };

/** A schema with one more condition, e.g. a list's length that depends on another field. */
export const where =
  <T>(schema: Schema<T>, test: (value: T) => boolean, expected: string): Schema<T> =>
  (value, field) => {
    const checked = schema(value, field);
    if (!test(checked)) throw new FieldError(field, `should be ${expected}`);
    return checked;
  };

const count = integer(0);
const loss = number(0);

/**
 * A training setting as TRAIN_OPTIONS declares it: a checkpoint's settings are held to the
 * rules the library holds its callers to. A setting with no value by default (null) may
 * be absent.
 */
const setting = (spec: OptionSpec<unknown>): Schema<unknown> => {
  const schema = expect((value) => spec.accepts(value), spec.range ?? 'true or false'); // only a switch has no range
  return spec.default === null ? nullable(schema) : schema;
};

const trainConfig = object(
  Object.fromEntries(Object.entries(TRAIN_OPTIONS).map(([key, spec]) => [key, setting(spec)])) as {
    [K in keyof TrainConfig]: Schema<TrainConfig[K]>;
  },
);

const historyEntry = object({
  step: integer(1),
  epoch: number(0),
  trainLoss: loss,
  valLoss: optional(loss),
  lr: number(0),
  seconds: number(0),
});

const modelConfig = object({
  vocabSize: integer(2),
  hidden: integer(1),
  layers: integer(1),
  dropout: number(0, 0.999999),
  cell: oneOf(CELL_TYPES),
  learnedInit: boolean,
});

/** One vocabulary entry is one Unicode code point. */
const character: Schema<string> = expect((v) => typeof v === 'string' && [...v].length === 1, 'one character');

const vocabulary: Schema<string[]> = (value, field) => {
  const chars = array(character)(value, field);
  const seen = new Map<string, number>();
  chars.forEach((ch, k) => {
    const first = seen.get(ch);
    if (first !== undefined) throw new FieldError(`${field}[${k}]`, `repeats ${describe(ch)}, already at ${field}[${first}]`);
    seen.set(ch, k);
  });
  return chars;
};

const resumeRecord = object({
  adamStep: count,
  rngState: integer(0, 2 ** 32 - 1),
  lossSinceEval: object({ sum: loss, count }),
  // Infinity (no step yet) is written by JSON as null.
  minLoss: (value: unknown, field: string) => (value === null ? Infinity : loss(value, field)),
  lrScale: where(number(0, 1), (x) => x > 0, 'in (0, 1]'),
  rollbacks: count,
  staleValidations: count,
  timeDecay: nullable(where(object({ start: count, end: count }), (d) => d.end > d.start, 'with end after start')),
  file: string,
  sha256: hex(64),
  shapes: array(array(integer(1))),
});

/**
 * The "charrnn" object of model.json as the current format has it (older ones are
 * upgraded first: upgrade.ts), and the rules between its parts.
 */
export const checkpointMetaSchema = (value: unknown, field: string) => {
  const meta = object({
    formatVersion: integer(1),
    model: modelConfig,
    vocab: vocabulary,
    training: object({
      config: trainConfig,
      step: count,
      epoch: number(0),
      history: array(historyEntry),
      valLoss: nullable(loss),
      bestValLoss: nullable(loss),
      backend: string,
      seconds: number(0),
      corpus: object({
        path: string,
        files: array(object({ path: string, bytes: count, fingerprint: string })),
        encoding: oneOf(['utf8', 'latin1'] as const),
        bytes: count,
        chars: count,
        // Only ever compared with a corpus's SHA-256: anything else simply does not match.
        fingerprint: string,
        counts: optional(array(count)),
      }),
    }),
    weightsSha256: hex(64),
    resume: optional(resumeRecord),
  })(value, field);
  const { model, vocab, training } = meta;
  if (vocab.length !== model.vocabSize)
    throw new FieldError(`${field}.vocab`, `has ${vocab.length} characters, but ${field}.model.vocabSize is ${model.vocabSize}`);
  const counts = training.corpus.counts;
  if (counts && counts.length !== vocab.length)
    throw new FieldError(`${field}.training.corpus.counts`, `has ${counts.length} entries for ${vocab.length} characters`);
  for (const key of ['layers', 'hidden'] as const) {
    if (training.config[key] !== model[key])
      throw new FieldError(`${field}.training.config.${key}`, `is ${training.config[key]}, but ${field}.model.${key} is ${model[key]}`);
  }
  return meta;
};

/** A metrics.jsonl line: a step, or a validation written on its own line. */
export const metricsLineSchema = object({
  step: integer(1),
  epoch: optional(number(0)),
  trainLoss: optional(loss),
  valLoss: optional(loss),
  lr: optional(number(0)),
  charsPerSecond: optional(number(0)),
  seconds: optional(number(0)),
  time: optional(string),
});
