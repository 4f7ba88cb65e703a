/**
 * Generating text one character at a time: each sampled character is fed back as the
 * next input and the recurrent state is carried, so each new character costs one step.
 * B streams (several samples, or one prime at several temperatures) step together:
 * one model step per character for all of them.
 *
 * The step path (`BatchStepper`) keeps its own copy of the weights, each layer's combined
 * once by its cell's stepper (cells/cell.ts: layer 0's input projection is a row gather,
 * the layers above do input and recurrence in one matMul), so that a step is a handful of
 * tfjs ops per layer, on wasm two kernel calls (cells/fused.ts: the projection, the cell)
 * (shapes: B streams, H hidden, V vocabulary); then
 *   output:    logits = h·Wy + by (B, V), read back with one dataSync for all streams
 * Temperature, top-k, top-p and the draw then run in plain JS (`distribution.ts`).
 */
import * as tf from '../tf.js';
import { cellKernels, disposeState, type LayerStepper, type ModelStepper, type RecurrentState, type StepProjector } from '../cells/cell.js';
import { stepProjectorFactory } from '../cells/fused.js';
import type { CharModel } from '../model/model.js';
import { Rng } from '../rng.js';
import { definedOnly } from '../options/option.js';
import { assertMemoryFits, estimateSamplingMemory } from '../training/memory.js';
import { logProbability, pickIndex, softmax } from './distribution.js';
import { SAMPLE_DEFAULTS, validateSampleSettings, type Distribution, type SampleSettings } from './options.js';
import { quoteChars, type Vocabulary } from '../data/vocab.js';
import { UserError } from '../errors.js';
import { samplingThreads } from './threads.js';

/**
 * B streams of the model stepped together: the cell's whole model step where the backend
 * has one (on wasm, one call per character: wasm/sample.ts; each layer's units and the
 * output's columns shared out between `threads` threads, even for one stream), else
 * `BatchStepper` (on one thread). The weights are copied when it is made: later changes to
 * the model's weights are not seen.
 */
export function modelStepper(model: CharModel, batch: number, threads = 1): ModelStepper {
  const { modelStep } = cellKernels(model.cell);
  if (!modelStep) return new BatchStepper(model, batch);
  const initial = model.initialState(batch);
  try {
    return modelStep(
      model.weights.map((named) => named.tensor),
      initial,
      threads,
    );
  } finally {
    disposeState(initial);
  }
}

/**
 * B streams of the model, stepped one character each at a time, op by op (a few tfjs ops
 * or kernel calls per layer). The weights are copied (and combined) when it is made: later
 * changes to the model's weights are not seen.
 */
export class BatchStepper implements ModelStepper {
  private readonly layers: LayerStepper[];
  private readonly output: StepProjector; // h (B, H) -> logits h·Wy + by (B, V)
  private state: RecurrentState[];
  readonly vocabSize: number;

  constructor(
    model: CharModel,
    readonly batch: number,
  ) {
    const { layers: L, vocabSize } = model.config;
    this.vocabSize = vocabSize;
    const { stepper } = cellKernels(model.cell);
    const w = model.weights.map((named) => named.tensor as tf.Tensor); // checkpoint order: (W, U, b) per layer, Wy, by[, initial states]
    this.layers = [];
    for (let l = 0; l < L; l++) {
      const [W, U, b] = w.slice(3 * l, 3 * l + 3);
      this.layers.push(stepper(l, W as tf.Tensor2D, U as tf.Tensor2D, b as tf.Tensor1D));
    }
    this.output = stepProjectorFactory()(L, w[3 * L] as tf.Tensor2D, null, w[3 * L + 1] as tf.Tensor1D);
    this.state = model.initialState(batch);
  }

  /**
   * Feeds one character id per stream, ids (B), and returns the next-character logits
   * (B·V, row b for stream b), read back in one dataSync.
   */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    const next: RecurrentState[] = [];
    const logits = tf.tidy(() => {
      let x: tf.Tensor = tf.tensor1d(ids, 'int32'); // the layer's input: ids for layer 0, then the layer below's new h (B, H)
      this.layers.forEach((layer, l) => {
        const state = layer.step(x, this.state[l]);
        next.push(state.map((t) => tf.keep(t)));
        x = state[0];
      });
      return this.output.apply(x, x as tf.Tensor2D); // (B, V)
    });
    const values = logits.dataSync() as Float32Array;
    logits.dispose();
    disposeState(this.state);
    this.state = next;
    return values;
  }

  dispose(): void {
    disposeState(this.state);
    for (const layer of this.layers) layer.dispose();
    this.output.dispose();
  }
}

/** One stream read text and is asked for probabilities: for probing a model. */
export class Sampler {
  private readonly stepper: ModelStepper;
  /** Next-character logits after the text fed so far (V). */
  private logits: Float32Array | null = null;

  constructor(
    model: CharModel,
    private readonly vocab: Vocabulary,
  ) {
    this.stepper = modelStepper(model, 1);
  }

  /** Runs the model over `text` (all characters must be in the vocabulary), state carried. */
  feed(text: string): void {
    for (const id of this.vocab.encode(text)) this.logits = this.stepper.step(Int32Array.of(id));
  }

  /** Probabilities of the next character at `temperature` (> 0). (V) */
  probabilities(temperature: number): Float64Array {
    if (!this.logits) throw new Error('feed the sampler some text first');
    return softmax(this.logits, temperature);
  }

  dispose(): void {
    this.stepper.dispose();
  }
}

/** What varies from stream to stream; each stream's seed makes its text independent of the others in the batch. */
export type StreamSettings = Pick<SampleSettings, 'temperature' | 'seed'>;

/**
 * Samples that share everything but their streams' settings; left-out settings take the defaults of options.ts. B = streams.length.
 * `counts`: how often each vocabulary character occurs in the training text (a
 * checkpoint's `training.corpus.counts`), for `startingContext`.
 */
export type BatchSampleRequest = Partial<Omit<SampleSettings, keyof StreamSettings>> & {
  streams: readonly StreamSettings[];
  counts?: readonly number[];
  /**
   * false: keep nothing of the generated text (for a caller that takes it from the `char`
   * events): `done`'s sample has empty text and logprobs, and memory stays the same however
   * long the samples are. Default true.
   */
  keep?: boolean;
  /** Threads sharing the streams (threads.ts `samplingThreads`); default: as many as pay. The text is the same on any number. */
  threads?: number;
};

/** A finished stream. */
export interface Sample {
  stream: number;
  prime: string;
  /** The generated text, without the prime. */
  text: string;
  /** ln p of each generated character (by code point, as in `text`) under the model at temperature 1, before top-k/top-p. */
  logprobs: number[];
  /** The stop string that ended it, or null if it ran to `length`. */
  stop: string | null;
  temperature: number;
  seed: number;
}

export type SampleEvent =
  | { type: 'prime'; stream: number; text: string }
  | { type: 'char'; stream: number; char: string; logprob: number }
  | { type: 'done'; sample: Sample };

/**
 * Samples all streams together, one model step per character for the whole batch.
 * Yields each stream's prime, then each generated character as it is drawn (stream order
 * within a step), and `done` with the whole sample when a stream ends.
 */
export function* sampleStreams(model: CharModel, vocab: Vocabulary, request: BatchSampleRequest): Generator<SampleEvent> {
  const { streams, counts, keep = true, threads, ...shared } = request;
  const B = streams.length;
  const V = vocab.size;
  if (B < 1) throw new RangeError('need at least one stream');
  validateSampleSettings(shared);
  for (const stream of streams) validateSampleSettings(stream);
  const { length, prime, topK, topP, stop: stops } = { ...SAMPLE_DEFAULTS, ...definedOnly(shared) };
  const what = `sampling ${B.toLocaleString('en-US')} stream${B > 1 ? 's' : ''} of ${length.toLocaleString('en-US')} characters at once`;
  assertMemoryFits(estimateSamplingMemory(model.config, B, keep ? length : 0), what, 'ask for fewer samples or shorter ones');
  refuseUnknownChars(vocab, { prime, stop: stops });
  const rngs = streams.map((s) => new Rng(s.seed));
  const random = rngs.map((rng) => () => rng.next());
  const distributions: Distribution[] = streams.map((s) => ({ temperature: s.temperature, topK, topP }));
  const samples: Sample[] = streams.map((s, b) => ({
    stream: b,
    prime,
    text: '',
    logprobs: [],
    stop: null,
    temperature: s.temperature,
    seed: s.seed,
  }));

  const reading = vocab.encode(prime || startingContext(vocab, counts));
  const stepper = modelStepper(model, B, samplingThreads(model, B, reading.length + length, threads));
  try {
    // Every stream reads the same text first: the prime, or the starting context.
    let logits: Float32Array = new Float32Array(0);
    for (const id of reading) logits = stepper.step(new Int32Array(B).fill(id));
    for (let b = 0; b < B; b++) yield { type: 'prime', stream: b, text: prime };

    const active = new Array<boolean>(B).fill(true);
    // The last characters of each stream, as many as the longest stop string has, for finding stops when the text is not kept.
    const longestStop = Math.max(0, ...stops.map((s) => s.length));
    const tails = new Array<string>(B).fill('');
    const ids = new Int32Array(B);
    for (let k = 0; k < length; k++) {
      const finished: Sample[] = [];
      for (let b = 0; b < B; b++) {
        if (!active[b]) continue;
        const row = logits.subarray(b * V, (b + 1) * V);
        const id = pickIndex(row, distributions[b], random[b]);
        const char = vocab.chars[id];
        const logprob = logProbability(row, id);
        const sample = samples[b];
        if (keep) {
          sample.text += char;
          sample.logprobs.push(logprob);
        }
        ids[b] = id;
        yield { type: 'char', stream: b, char, logprob };
        if (longestStop > 0) {
          const tail = (tails[b] + char).slice(-longestStop);
          tails[b] = tail;
          sample.stop = stops.find((s) => tail.endsWith(s)) ?? null;
        }
        if (sample.stop !== null || k === length - 1) {
          active[b] = false;
          finished.push(sample);
        }
      }
      for (const sample of finished) yield { type: 'done', sample };
      if (!active.includes(true)) return;
      logits = stepper.step(ids); // finished streams keep stepping on their last character, unread
    }
    for (const sample of samples) yield { type: 'done', sample }; // length 0
  } finally {
    stepper.dispose();
  }
}

/**
 * What a model reads before its first character when there is no prime; it is not part
 * of the sample. A newline, so that the sample starts as a line of the training text
 * does; in a vocabulary without one, the text's most frequent character (by `counts`,
 * else a space, else the first character).
 */
export function startingContext(vocab: Vocabulary, counts?: readonly number[]): string {
  if (vocab.has('\n')) return '\n';
  if (counts?.length === vocab.size) return vocab.chars[counts.indexOf(Math.max(...counts))];
  return vocab.has(' ') ? ' ' : vocab.chars[0];
}

/** Prime and stop strings can hold only characters the model has seen: else a UserError naming the flag. */
export function refuseUnknownChars(vocab: Vocabulary, texts: { prime: string; stop: readonly string[] }): void {
  for (const [flag, text] of [['--prime', texts.prime], ...texts.stop.map((s) => ['--stop', s])]) {
    const unknown = vocab.unknownChars(text);
    if (unknown.length) throw new UserError(`${flag} has characters the model never saw: ${quoteChars(unknown)}`);
  }
}

/** One sample; left-out settings take the defaults of options.ts; `counts` as in `BatchSampleRequest`. */
export type SampleRequest = Partial<SampleSettings> & Pick<SampleSettings, 'seed'> & { counts?: readonly number[] };

/** One stream: yields the prime (if any) and then each generated character. */
export function* generate(model: CharModel, vocab: Vocabulary, request: SampleRequest): Generator<string> {
  const { temperature = SAMPLE_DEFAULTS.temperature, seed, ...rest } = request;
  for (const event of sampleStreams(model, vocab, { ...rest, streams: [{ temperature, seed }] })) {
    if (event.type === 'prime' && event.text !== '') yield event.text;
    else if (event.type === 'char') yield event.char;
  }
}
