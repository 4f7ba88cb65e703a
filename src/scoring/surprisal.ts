/**
 * How surprised a model is by each character of a text: bits = −log2 p(char | the text
 * before it), with the model's likeliest next characters at each position. For heatmaps
 * and for finding where a model goes wrong.
 *
 * The text is read one character at a time with the state carried (`Sampler`), so the
 * context of every prediction is the whole text before it. The first character has no
 * prediction (the model predicts only after reading something): its `bits` is null.
 */
import type { CharModel } from '../model/model.js';
import { Sampler } from '../sampling/sampler.js';
import { quoteChars, type Vocabulary } from '../data/vocab.js';

export interface CharSurprisal {
  char: string;
  /** −log2 p(char | text before it); null for the first character. */
  bits: number | null;
  /** The likeliest next characters at this position, [char, probability], likeliest first; empty for the first character. */
  top: [string, number][];
}

/**
 * One entry per character (code point) of `text`, which must hold only characters of
 * `vocab` (check `vocab.unknownChars` first). `topK` predictions are kept per position.
 */
export function surprisal(model: CharModel, vocab: Vocabulary, text: string, topK = 5): CharSurprisal[] {
  const unknown = vocab.unknownChars(text);
  if (unknown.length) throw new RangeError(`characters not in the vocabulary: ${quoteChars(unknown)}`);
  const result: CharSurprisal[] = [];
  const sampler = new Sampler(model, vocab);
  try {
    let probs: Float64Array | null = null;
    for (const char of text) {
      if (probs === null) {
        result.push({ char, bits: null, top: [] });
      } else {
        const p = probs[vocab.idOf(char)!];
        result.push({ char, bits: -Math.log2(p), top: topEntries(probs, vocab, topK) });
      }
      sampler.feed(char);
      probs = sampler.probabilities(1);
    }
  } finally {
    sampler.dispose();
  }
  return result;
}

/** Mean bits over the characters that have a prediction (NaN if none). */
export function meanBits(chars: readonly CharSurprisal[]): number {
  let sum = 0;
  let n = 0;
  for (const c of chars) {
    if (c.bits === null) continue;
    sum += c.bits;
    n++;
  }
  return n ? sum / n : NaN;
}

function topEntries(probs: Float64Array, vocab: Vocabulary, k: number): [string, number][] {
  const best: number[] = []; // ids, likeliest first; k is small, so insertion beats a sort of V
  for (let id = 0; id < probs.length; id++) {
    if (best.length === k && probs[id] <= probs[best[k - 1]]) continue;
    let at = best.length < k ? best.length : k - 1;
    while (at > 0 && probs[best[at - 1]] < probs[id]) at--;
    best.splice(at, 0, id);
    if (best.length > k) best.pop();
  }
  return best.map((id) => [vocab.chars[id], probs[id]]);
}
