/**
 * The vocabulary: every distinct Unicode code point of the corpus, sorted, so that
 * an emoji or a CJK character is one symbol (not two UTF-16 units or several bytes).
 */
export class Vocabulary {
  private readonly index: Map<string, number>;

  constructor(readonly chars: readonly string[]) {
    this.index = new Map(chars.map((ch, i) => [ch, i]));
    if (this.index.size !== chars.length) throw new Error('vocabulary has duplicate characters');
  }

  static fromText(text: string): Vocabulary {
    const distinct = new Set(text); // a string iterates by code point
    return new Vocabulary([...distinct].sort(compareCodePoints));
  }

  get size(): number {
    return this.chars.length;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  idOf(ch: string): number | undefined {
    return this.index.get(ch);
  }

  /** Characters of `text` that are not in the vocabulary, each once, in order of appearance. */
  unknownChars(text: string): string[] {
    return [...new Set(text)].filter((ch) => !this.index.has(ch));
  }

  /** Code point ids; throws on a character outside the vocabulary (check `unknownChars` first). */
  encode(text: string): Int32Array {
    // Straight into a typed array (4 bytes a character): a 100 MB corpus must not
    // become a JS array of numbers. UTF-16 length bounds the code point count.
    const ids = new Int32Array(text.length);
    let n = 0;
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) throw new Error(`character ${JSON.stringify(ch)} is not in the vocabulary`);
      ids[n++] = id;
    }
    return n === ids.length ? ids : ids.subarray(0, n); // no copy: a second array would double the peak
  }

  decode(ids: Iterable<number>): string {
    let out = '';
    for (const id of ids) out += this.chars[id];
    return out;
  }
}

function compareCodePoints(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

/** Characters quoted for a message, e.g. `"Z" "€"`; past `limit` of them, an ellipsis. */
export function quoteChars(chars: readonly string[], limit = Infinity): string {
  const shown = chars
    .slice(0, limit)
    .map((c) => JSON.stringify(c))
    .join(' ');
  return chars.length > limit ? `${shown} …` : shown;
}
