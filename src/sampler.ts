/**
 * Generating text one character at a time: each sampled character is fed back as the
 * next input and the LSTM state is carried, so each new character costs one step.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeState } from './evaluate.js';
import type { LstmState } from './lstm.js';
import type { CharModel } from './model.js';
import { Rng } from './rng.js';
import type { Vocabulary } from './vocab.js';

export interface SampleOptions {
  /** Characters to generate after the prime. */
  length: number;
  /** Softmax temperature; 0 means always the most likely character. */
  temperature: number;
  /** Text the model reads first; empty means a random character from the vocabulary. */
  prime: string;
  seed: number;
}

export class Sampler {
  private state: LstmState[];
  /** Next-character logits after the text fed so far. */
  private logits: Float32Array | null = null;

  constructor(
    private readonly model: CharModel,
    private readonly vocab: Vocabulary,
  ) {
    this.state = model.zeroState(1);
  }

  /** Runs the model over `text` (all characters must be in the vocabulary) in one call. */
  feed(text: string): void {
    const ids = this.vocab.encode(text);
    if (ids.length === 0) return;
    let final: LstmState[] = [];
    const last = tf.tidy(() => {
      const result = this.model.forward(tf.tensor1d(ids, 'int32'), this.state);
      final = result.final;
      return tf.slice(result.logits, [ids.length - 1, 0], [1, -1]);
    });
    this.logits = last.dataSync() as Float32Array;
    last.dispose();
    disposeState(this.state);
    this.state = final;
  }

  /** Probabilities of the next character at `temperature` (> 0). */
  probabilities(temperature: number): Float64Array {
    if (!this.logits) throw new Error('feed the sampler some text first');
    return softmax(this.logits, temperature);
  }

  /** Picks the next character, feeds it back, and returns it. */
  next(temperature: number, rng: Rng): string {
    if (!this.logits) throw new Error('feed the sampler some text first');
    const id = temperature === 0 ? argmax(this.logits) : drawIndex(softmax(this.logits, temperature), rng.next());
    const ch = this.vocab.chars[id];
    this.feed(ch);
    return ch;
  }

  dispose(): void {
    disposeState(this.state);
  }
}

/** Yields the prime (or the random first character) and then `length` generated characters. */
export function* generate(model: CharModel, vocab: Vocabulary, options: SampleOptions): Generator<string> {
  const rng = new Rng(options.seed);
  const sampler = new Sampler(model, vocab);
  try {
    const prime = options.prime || vocab.chars[Math.floor(rng.next() * vocab.size)];
    sampler.feed(prime);
    yield prime;
    for (let k = 0; k < options.length; k++) yield sampler.next(options.temperature, rng);
  } finally {
    sampler.dispose();
  }
}

function softmax(logits: Float32Array, temperature: number): Float64Array {
  const out = new Float64Array(logits.length);
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += out[k] = Math.exp((logits[k] - max) / temperature);
  for (let k = 0; k < out.length; k++) out[k] /= sum;
  return out;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** The index whose cumulative probability first exceeds `u` in [0, 1). */
function drawIndex(probs: Float64Array, u: number): number {
  let cumulative = 0;
  for (let k = 0; k < probs.length; k++) {
    cumulative += probs[k];
    if (u < cumulative) return k;
  }
  return probs.length - 1;
}
