/**
 * The text both sides train on: the first megabyte of the chosen file, cut at a character
 * boundary and without a byte-order mark, written to a temporary file so that ours and the
 * peer read exactly the same characters.
 */
import { closeSync, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCorpus } from '../dist/data/corpus.js';
import { CorpusError } from '../dist/errors.js';
import { Vocabulary } from '../dist/data/vocab.js';

const WAR_AND_PEACE = fileURLToPath(new URL('../../shared/corpora/warpeace.txt', import.meta.url));
const BUILT_IN = fileURLToPath(new URL('../corpora/default.txt', import.meta.url));

export interface BenchCorpus {
  /** The file the user chose (or the default). */
  source: string;
  /** The cut copy both sides read. */
  path: string;
  bytes: number;
  chars: number;
  vocabSize: number;
  /** True when the source was longer than the cut. */
  truncated: boolean;
}

export function defaultCorpus(): string {
  return existsSync(WAR_AND_PEACE) ? WAR_AND_PEACE : BUILT_IN;
}

/** Index just past the last whole UTF-8 character in bytes[0, end). */
export function utf8Boundary(bytes: Uint8Array, end: number): number {
  let cut = Math.min(end, bytes.length);
  if (cut === bytes.length) return cut;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--; // bytes[cut] must start a character
  return cut;
}

export function prepareCorpus(source: string | null, maxBytes: number, dir: string): BenchCorpus {
  const file = source ?? defaultCorpus();
  readCorpus(file); // refuses a missing, binary or non-UTF-8 file with its usual message
  const head = readHead(file, maxBytes + 1);
  const truncated = head.length > maxBytes;
  let bytes = head.subarray(0, utf8Boundary(head, maxBytes));
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const path = join(dir, `${basename(file, extname(file)) || 'corpus'}${truncated ? '-1MB' : ''}.txt`);
  writeFileSync(path, bytes);
  const corpus = readCorpus(path);
  if (corpus.text.length < 10_000)
    throw new CorpusError(`${file}: too small for a benchmark (${corpus.text.length} characters; need 10,000 or more)`);
  return {
    source: file,
    path,
    bytes: bytes.length,
    chars: [...corpus.text].length,
    vocabSize: Vocabulary.fromText(corpus.text).size,
    truncated,
  };
}

function readHead(file: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    let n = 0;
    while (n < length) {
      const got = readSync(fd, buffer, n, length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
