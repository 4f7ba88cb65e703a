/**
 * Where a corpus comes from: one file, several files, folders, or standard input ('-'),
 * read as one text; and reading it again later (for validation, or to resume) from what
 * a checkpoint recorded.
 *
 * A folder means its regular files, recursively, in order of path; hidden (dot) files
 * and folders and symbolic links are left out, and so are files that are not text (they
 * are named in a note). Files are joined in the order given, with a newline after any
 * that does not end with one, so that no line runs into the next file's.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { join, resolve } from 'node:path';
import { CorpusError } from '../errors.js';
import { corpusFromBytes, readCorpus, type Corpus, type CorpusFile, type TextEncoding } from './corpus.js';

/** The argument that means standard input. */
export const STDIN = '-';
/** Standard input is read into memory before it can be checked: beyond this, save it to a file. */
export const STDIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** `sources` (files, folders, or '-' alone) read as one corpus. */
export function readCorpusFrom(sources: readonly string[], encoding: TextEncoding): Corpus {
  if (sources.includes(STDIN)) {
    if (sources.length > 1) throw new CorpusError(`'-' (standard input) cannot be combined with files`);
    return readStdin(encoding);
  }
  if (sources.length === 1 && !isDirectory(sources[0])) return readCorpus(sources[0], encoding);
  const notText: string[] = [];
  const corpora: Corpus[] = [];
  for (const source of sources) {
    if (!isDirectory(source)) {
      corpora.push(readCorpus(source, encoding));
      continue;
    }
    for (const file of filesUnder(source)) {
      try {
        corpora.push(readCorpus(file, encoding));
      } catch (err) {
        if (!(err instanceof CorpusError)) throw err;
        notText.push(file);
      }
    }
  }
  if (corpora.length === 0)
    throw new CorpusError(
      `no text files in the director${sources.length === 1 ? 'y' : 'ies'} ${sources.join(', ')}` +
        (notText.length ? ` (${notText.length} that are not text)` : ''),
    );
  const joined = joinCorpora(sources.length === 1 ? resolve(sources[0]) : corpora[0].path, corpora, encoding);
  if (notText.length)
    joined.notes.push(
      `left out ${notText.length} file${notText.length === 1 ? '' : 's'} that ${notText.length === 1 ? 'is' : 'are'} not text: ` +
        `${notText.slice(0, 3).join(', ')}${notText.length > 3 ? ', …' : ''}`,
    );
  return joined;
}

/**
 * The corpus a checkpoint recorded, read again from its files (a CorpusError if it came
 * from standard input); whether it is still the same text is its fingerprint's to say.
 */
export function reopenCorpus(record: { path: string; encoding: TextEncoding; files: readonly CorpusFile[] }): Corpus {
  if (record.path === STDIN) throw new CorpusError('the corpus was read from standard input, so there is no file to read again');
  const corpora = record.files.map((file) => readCorpus(file.path, record.encoding));
  return corpora.length === 1 ? corpora[0] : joinCorpora(record.path, corpora, record.encoding);
}

function readStdin(encoding: TextEncoding): Corpus {
  if (isatty(0)) throw new CorpusError('standard input is a terminal; pipe a text into it (e.g. cat *.txt | charrnn train -)');
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(1 << 20);
    let n: number;
    try {
      n = readSync(0, chunk);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a non-blocking pipe with nothing in it yet
      if (code === 'EOF') break;
      throw new CorpusError(`standard input: cannot read (${code ?? String(err)})`);
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > STDIN_LIMIT_BYTES) {
      throw new CorpusError(`standard input holds more than ${STDIN_LIMIT_BYTES / 1024 / 1024} MiB; save it to a file and train on that`);
    }
  }
  return { ...corpusFromBytes(Buffer.concat(chunks), 'standard input', encoding), path: STDIN };
}

function joinCorpora(path: string, corpora: readonly Corpus[], encoding: TextEncoding): Corpus {
  const files = corpora.flatMap((c) => c.files);
  return {
    path,
    files,
    encoding,
    text: corpora.map((c, k) => (k < corpora.length - 1 && !c.text.endsWith('\n') ? `${c.text}\n` : c.text)).join(''),
    bytes: corpora.reduce((sum, c) => sum + c.bytes, 0),
    // Of the files' own fingerprints, in order: the same files in the same order, the same text.
    fingerprint: createHash('sha256')
      .update(files.map((f) => f.fingerprint).join('\n'))
      .digest('hex'),
    notes: [...new Set(corpora.flatMap((c) => c.notes))],
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // readCorpus says what is wrong with it
  }
}

/** Regular files under `dir`, recursively, sorted by path; no hidden files or folders, no symbolic links. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
