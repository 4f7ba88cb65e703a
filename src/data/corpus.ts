/**
 * Reading a text file the user gave us, refusing what is not text with one clear line,
 * and splitting it into training and validation parts.
 */
import { createHash } from 'node:crypto';
import { constants as bufferLimits } from 'node:buffer';
import { resolve } from 'node:path';
import { CorpusError } from '../errors.js';
import { readRegularFile } from '../read-file.js';

export interface Corpus {
  /** Absolute, so a checkpoint can find it again from any directory; a folder, or '-' for standard input (sources.ts). */
  path: string;
  /** The files the text was read from, in order (sources.ts); none for standard input. */
  files: CorpusFile[];
  encoding: TextEncoding;
  text: string;
  bytes: number;
  /** sha256 of the file's bytes (of several files: sources.ts), so a checkpoint can tell which text it was trained on. */
  fingerprint: string;
  /** Things worth telling the user that are not errors (a stripped BOM, CR line endings). */
  notes: string[];
}

export type TextEncoding = 'utf8' | 'latin1';

export interface CorpusFile {
  /** Absolute. */
  path: string;
  bytes: number;
  /** sha256 of its bytes. */
  fingerprint: string;
}

export function readCorpus(path: string, encoding: TextEncoding = 'utf8'): Corpus {
  // A regular file only: /dev/zero or a FIFO would be read without end, or block forever.
  // The text must fit in one JS string, which holds at most MAX_STRING_LENGTH characters.
  const bytes = readRegularFile(path, { maxBytes: bufferLimits.MAX_STRING_LENGTH }, (reason) => new CorpusError(`${path}: ${reason}`));
  const corpus = corpusFromBytes(bytes, path, encoding);
  return { ...corpus, files: [{ path: corpus.path, bytes: corpus.bytes, fingerprint: corpus.fingerprint }] };
}

/** Text read from `path` (named in messages) as a corpus of no files; refuses what is not text. */
export function corpusFromBytes(bytes: Buffer, path: string, encoding: TextEncoding): Corpus {
  if (bytes.length === 0) throw new CorpusError(`${path} is empty`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new CorpusError(`${path} looks binary (NUL byte at offset ${nul}); give a text file`);

  const notes: string[] = [];
  let text = encoding === 'utf8' ? decodeUtf8(bytes, path) : bytes.toString('latin1');
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    notes.push('stripped a UTF-8 byte-order mark');
  }
  const lineEndings = describeLineEndings(text);
  if (lineEndings) notes.push(`${lineEndings} line endings, kept as written`);
  if (text.length === 0) throw new CorpusError(`${path} holds no text`);
  return {
    path: resolve(path),
    files: [],
    encoding,
    text,
    bytes: bytes.length,
    fingerprint: createHash('sha256').update(bytes).digest('hex'),
    notes,
  };
}

function decodeUtf8(bytes: Buffer, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    throw new CorpusError(`${path} is not valid UTF-8 (byte offset ${offset}); if it is Latin-1 text, pass --encoding latin1`);
  }
}

/** Offset of the first byte of the first sequence that is not well-formed UTF-8. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const decodes = (end: number, stream: boolean) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end), { stream });
      return true;
    } catch {
      return false;
    }
  };
  // Binary search on the longest prefix that is valid so far (it may stop mid-sequence).
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodes(mid, true)) lo = mid;
    else hi = mid - 1;
  }
  // If that prefix ends inside a sequence, the fault is the sequence's lead byte.
  if (decodes(lo, false)) return lo;
  let start = lo - 1;
  while (start > 0 && (bytes[start] & 0xc0) === 0x80) start--;
  return start;
}

function describeLineEndings(text: string): string | null {
  const crlf = text.includes('\r\n');
  const cr = /\r(?!\n)/.test(text);
  const lf = /(?<!\r)\n/.test(text);
  if (!crlf && !cr) return null;
  if (crlf && !cr && !lf) return 'CRLF';
  if (cr && !crlf && !lf) return 'CR-only';
  return 'mixed';
}

/**
 * The last `valFrac` of the text (in characters) is held out for validation, as a
 * contiguous block so validation text is never seen in training.
 */
export function splitIds(ids: Int32Array, valFrac: number): { train: Int32Array; val: Int32Array } {
  const valLength = Math.floor(ids.length * valFrac);
  const cut = ids.length - valLength;
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}
