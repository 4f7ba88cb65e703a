/**
 * Generating text one character at a time: each sampled character is fed back as the
 * next input and the recurrent state is carried, so each new character costs one step.
 * B streams (several samples, or one prime at several temperatures) step together:
 * one model step per character for all of them.
 *
 * The step path (`BatchStepper`) keeps its own copy of the weights, combined once so
 * that a step is a handful of tfjs ops per layer (shapes: B streams, H hidden, V vocabulary,
 * G gates: 4 LSTM, 3 GRU, 1 RNN):
 *   layer 0:   z = E[ids] + h·U          E = W + b (V, G·H): the input projection is a row gather
 *   layer l>0: z = [x, h]·[W; U] + b     one matMul for input and recurrence, (B, 2H)·(2H, G·H)
 *   LSTM:      lstmCell (lstm.ts): i f o = σ(…), g = tanh(…);  c' = f·c + i·g,  h' = o·tanh(c')
 *   RNN:       h' = tanh(z)
 *   GRU:       z above covers only the update and reset columns (G·H → 2H); the candidate's
 *              input part is a second gather (layer 0) or x·Wh + bh, and gruCell (gru.ts)
 *              adds (r∘h)·Uh, which cannot join the fused matMul: it needs r first
 *   output:    logits = h·Wy + by (B, V), read back with one dataSync for all streams
 * Temperature, top-k, top-p and the draw then run in plain JS (`sampling.ts`). Plain matMul + add
 * is used rather than tf.fused.matMul: on wasm the fused op's extra reshapes and gradient wrapper
 * made a step about 20% slower at batch 1.
 */
import * as tf from '../tf.js';
import { disposeState } from '../scoring/evaluate.js';
import type { CellType } from '../cells/registry.js';
import { gruCell } from '../cells/gru.js';
import { lstmCell, type LstmState } from '../cells/lstm.js';
import type { CharModel } from '../model/model.js';
import { Rng } from '../rng.js';
import { logProbability, pickIndex, softmax, type DistributionOptions } from './distribution.js';
import type { Vocabulary } from '../data/vocab.js';

interface StepLayer {
  /** Layer 0: E = W + b (V, G·H), gathered by character id. Layers above: [W; U] (2H, G·H). GRU: the z, r columns only. */
  input: tf.Tensor2D;
  /** Layer 0 only: U (H, G·H). */
  recurrent?: tf.Tensor2D;
  /** Layers above 0: b (G·H). */
  bias?: tf.Tensor1D;
  /**
   * GRU only, the candidate's parts: layer 0 E's h columns (V, H) to gather; above Wh (H, H)
   * and bh (H); and Uh (H, H) for (r∘h)·Uh.
   */
  candidate?: { input: tf.Tensor2D; bias?: tf.Tensor1D; recurrent: tf.Tensor2D };
}

/** The step path's copy of layer l's weights W (D, G·H), U (H, G·H), b (G·H), combined as `StepLayer` says. */
function stepLayer(cell: CellType, l: number, W: tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D): StepLayer {
  return tf.tidy((): StepLayer & tf.TensorContainerObject => {
    if (cell !== 'gru') {
      return l === 0 ? { input: tf.add(W, b) as tf.Tensor2D, recurrent: tf.clone(U) } : { input: tf.concat([W, U], 0), bias: tf.clone(b) };
    }
    const H = U.shape[0];
    const [Wzr, Wh] = tf.split(W, [2 * H, H], 1) as tf.Tensor2D[];
    const [Uzr, Uh] = tf.split(U, [2 * H, H], 1) as tf.Tensor2D[];
    const [bzr, bh] = tf.split(b, [2 * H, H]) as tf.Tensor1D[];
    return l === 0
      ? { input: tf.add(Wzr, bzr) as tf.Tensor2D, recurrent: Uzr, candidate: { input: tf.add(Wh, bh) as tf.Tensor2D, recurrent: Uh } }
      : { input: tf.concat([Wzr, Uzr], 0), bias: bzr, candidate: { input: Wh, bias: bh, recurrent: Uh } };
  });
}

/**
 * B streams of the model, stepped one character each at a time. The weights are copied
 * (and combined) when it is made: later changes to the model's weights are not seen.
 */
export class BatchStepper {
  private readonly cell: CellType;
  private readonly layers: StepLayer[];
  private readonly outKernel: tf.Tensor2D; // (H, V)
  private readonly outBias: tf.Tensor1D; // (V)
  private state: LstmState[];
  readonly vocabSize: number;

  constructor(
    model: CharModel,
    readonly batch: number,
  ) {
    const { layers: L, vocabSize } = model.config;
    this.vocabSize = vocabSize;
    this.cell = model.config.cell;
    const w = model.weights.map((named) => named.tensor as tf.Tensor); // checkpoint order: (W, U, b) per layer, Wy, by[, initial states]
    this.layers = [];
    for (let l = 0; l < L; l++) {
      const [W, U, b] = w.slice(3 * l, 3 * l + 3);
      this.layers.push(stepLayer(this.cell, l, W as tf.Tensor2D, U as tf.Tensor2D, b as tf.Tensor1D));
    }
    this.outKernel = tf.clone(w[3 * L]) as tf.Tensor2D;
    this.outBias = tf.clone(w[3 * L + 1]) as tf.Tensor1D;
    this.state = model.zeroState(batch);
  }

  /**
   * Feeds one character id per stream, ids (B), and returns the next-character logits
   * (B·V, row b for stream b), read back in one dataSync.
   */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    const next: LstmState[] = [];
    const logits = tf.tidy(() => {
      const idTensor = tf.tensor1d(ids, 'int32');
      let x: tf.Tensor2D | null = null; // the layer below's new h, (B, H)
      this.layers.forEach((layer, l) => {
        const { h, c } = this.state[l];
        const z = ( // (B, G·H); GRU (B, 2H)
          x === null
            ? tf.add(tf.matMul(h, layer.recurrent!), tf.gather(layer.input, idTensor))
            : tf.add(tf.matMul(tf.concat([x, h], 1), layer.input), layer.bias!)
        ) as tf.Tensor2D;
        let hNext: tf.Tensor2D;
        let cNext: tf.Tensor2D = c;
        if (this.cell === 'lstm') ({ h: hNext, c: cNext } = lstmCell(z, c));
        else if (this.cell === 'rnn') hNext = tf.tanh(z);
        else {
          const cand = layer.candidate!;
          const xh = (x === null ? tf.gather(cand.input, idTensor) : tf.add(tf.matMul(x, cand.input), cand.bias!)) as tf.Tensor2D; // (B, H)
          hNext = gruCell(z, xh, cand.recurrent, h).h;
        }
        next.push({ h: tf.keep(hNext), c: tf.keep(cNext === c ? tf.clone(c) : cNext) }); // GRU, RNN: c passes through
        x = hNext;
      });
      return tf.add(tf.matMul(x!, this.outKernel), this.outBias); // (B, V)
    });
    const values = logits.dataSync() as Float32Array;
    logits.dispose();
    disposeState(this.state);
    this.state = next;
    return values;
  }

  dispose(): void {
    disposeState(this.state);
    for (const { input, recurrent, bias, candidate } of this.layers) {
      tf.dispose([input, recurrent, bias, candidate?.input, candidate?.bias, candidate?.recurrent].filter((t) => t !== undefined));
    }
    tf.dispose([this.outKernel, this.outBias]);
  }
}

/** One stream read text and is asked for probabilities: for probing a model. */
export class Sampler {
  private readonly stepper: BatchStepper;
  /** Next-character logits after the text fed so far (V). */
  private logits: Float32Array | null = null;

  constructor(
    model: CharModel,
    private readonly vocab: Vocabulary,
  ) {
    this.stepper = new BatchStepper(model, 1);
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

/** What varies from stream to stream. */
export interface StreamSettings {
  temperature: number;
  /** Seeds this stream's own random numbers: a stream's text does not depend on the others in the batch. */
  seed: number;
}

export interface BatchSampleOptions {
  /** Characters to generate after the prime, per stream (fewer if a stop string ends it). */
  length: number;
  /** Text every stream reads first; empty means one random vocabulary character per stream, drawn with its seed. */
  prime: string;
  topK?: number | null;
  topP?: number | null;
  /** A stream ends as soon as its generated text (after the prime) ends with one of these; it is kept in the text. */
  stop?: readonly string[];
  /** One entry per stream: B = streams.length. */
  streams: readonly StreamSettings[];
}

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
export function* sampleStreams(model: CharModel, vocab: Vocabulary, options: BatchSampleOptions): Generator<SampleEvent> {
  const B = options.streams.length;
  const V = vocab.size;
  if (B < 1) throw new RangeError('need at least one stream');
  const stops = options.stop ?? [];
  const rngs = options.streams.map((s) => new Rng(s.seed));
  const random = rngs.map((rng) => () => rng.next());
  const distributions: DistributionOptions[] = options.streams.map((s) => ({ temperature: s.temperature, topK: options.topK, topP: options.topP }));
  const primes = rngs.map((rng) => options.prime || vocab.chars[Math.floor(rng.next() * V)]);
  const samples: Sample[] = options.streams.map((s, b) => ({ stream: b, prime: primes[b], text: '', logprobs: [], stop: null, ...s }));

  const stepper = new BatchStepper(model, B);
  try {
    // The prime: the same length for every stream (a given prime, or one character each).
    const primeIds = primes.map((p) => vocab.encode(p));
    let logits: Float32Array = new Float32Array(0);
    for (let t = 0; t < primeIds[0].length; t++) logits = stepper.step(Int32Array.from(primeIds, (ids) => ids[t]));
    for (let b = 0; b < B; b++) yield { type: 'prime', stream: b, text: primes[b] };

    const active = new Array<boolean>(B).fill(true);
    const ids = new Int32Array(B);
    for (let k = 0; k < options.length; k++) {
      const finished: Sample[] = [];
      for (let b = 0; b < B; b++) {
        if (!active[b]) continue;
        const row = logits.subarray(b * V, (b + 1) * V);
        const id = pickIndex(row, distributions[b], random[b]);
        const char = vocab.chars[id];
        const logprob = logProbability(row, id);
        const sample = samples[b];
        sample.text += char;
        sample.logprobs.push(logprob);
        ids[b] = id;
        yield { type: 'char', stream: b, char, logprob };
        sample.stop = stops.find((s) => sample.text.endsWith(s)) ?? null;
        if (sample.stop !== null || k === options.length - 1) {
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

export interface SampleOptions {
  /** Characters to generate after the prime. */
  length: number;
  /** Softmax temperature; 0 means always the most likely character. */
  temperature: number;
  /** Text the model reads first; empty means a random character from the vocabulary. */
  prime: string;
  seed: number;
  topK?: number | null;
  topP?: number | null;
  stop?: readonly string[];
}

/** One stream: yields the prime (or the random first character) and then each generated character. */
export function* generate(model: CharModel, vocab: Vocabulary, options: SampleOptions): Generator<string> {
  const { temperature, seed, ...rest } = options;
  for (const event of sampleStreams(model, vocab, { ...rest, streams: [{ temperature, seed }] })) {
    if (event.type === 'prime') yield event.text;
    else if (event.type === 'char') yield event.char;
  }
}
