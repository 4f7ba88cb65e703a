// Corpora from anywhere (src/data/sources.ts): several files, folders, standard input; the
// checkpoint records each file and its hash, and eval's validation split reads them again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { readCorpusFrom, reopenCorpus, STDIN_LIMIT_BYTES } from '../dist/data/sources.js';
import { readCheckpointMeta } from '../dist/checkpoint/checkpoint.js';
import { BIN, runCli, tinyText, workDir, TINY_MODEL } from './helpers.mjs';

const WORK = workDir('sources');
const cli = (args) => runCli(args, { cwd: WORK });
const SMALL = [...TINY_MODEL, '--max-steps', '3', '--eval-every', '3', '--backend', 'wasm'];
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// A folder: two text files (one in a subfolder, one without a final newline), a binary file, a hidden folder.
const TEXT = tinyText();
const FOLDER = join(WORK, 'letters');
mkdirSync(join(FOLDER, 'b'), { recursive: true });
mkdirSync(join(FOLDER, '.git'));
writeFileSync(join(FOLDER, 'a.txt'), TEXT.slice(0, 2000).trimEnd());
writeFileSync(join(FOLDER, 'b', 'c.txt'), TEXT.slice(2000, 5000));
writeFileSync(join(FOLDER, 'picture.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]));
writeFileSync(join(FOLDER, '.git', 'HEAD'), 'ref: refs/heads/main\n');

test('a folder: its text files, recursively, by path, joined with a newline; hidden and binary files left out', () => {
  const corpus = readCorpusFrom([FOLDER], 'utf8');
  assert.equal(corpus.path, FOLDER);
  assert.deepEqual(
    corpus.files.map((f) => f.path),
    [join(FOLDER, 'a.txt'), join(FOLDER, 'b', 'c.txt')],
  );
  assert.equal(corpus.text, `${TEXT.slice(0, 2000).trimEnd()}\n${TEXT.slice(2000, 5000)}`);
  for (const f of corpus.files) assert.equal(f.fingerprint, sha256(readFileSync(f.path)));
  assert.match(corpus.notes.join('; '), /left out 1 file that is not text: .*picture\.png/);
  // Several arguments: in the order given.
  const two = readCorpusFrom([join(FOLDER, 'b', 'c.txt'), join(FOLDER, 'a.txt')], 'utf8');
  assert.equal(two.text, `${TEXT.slice(2000, 5000)}${TEXT.slice(0, 2000).trimEnd()}`);
  assert.notEqual(two.fingerprint, corpus.fingerprint, 'another order is another text');
  assert.equal(reopenCorpus(corpus).fingerprint, corpus.fingerprint);
  assert.equal(reopenCorpus(corpus).text, corpus.text);
});

test('train on a folder: the checkpoint records each file and its hash; eval scores the validation split', async () => {
  const run = join(WORK, 'folder-run');
  const trained = await cli(['train', FOLDER, '-o', run, ...SMALL]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /^corpus: .*letters \(2 files, [\d,]+ bytes/m);
  const { corpus } = readCheckpointMeta(join(run, 'latest')).training;
  assert.deepEqual(corpus.files, readCorpusFrom([FOLDER], 'utf8').files);
  const val = await cli(['eval', run, '--backend', 'wasm']);
  assert.equal(val.code, 0, val.stderr);
  assert.match(val.stdout, /^validation split of .*letters: [\d.]+ nats\/char/);
  writeFileSync(join(FOLDER, 'b', 'c.txt'), 'changed');
  const changed = await cli(['eval', run, '--backend', 'wasm']);
  writeFileSync(join(FOLDER, 'b', 'c.txt'), TEXT.slice(2000, 5000));
  assert.equal(changed.code, 3);
  assert.match(changed.stderr, /has changed since training.*charrnn eval <checkpoint> <file>/);
});

/** Runs charrnn with `input` on its standard input (a pipe). */
function withStdin(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: WORK, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // it may stop reading early
    child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('train - reads standard input; eval has no file to read again and asks for one', async () => {
  const run = join(WORK, 'stdin-run');
  const trained = await withStdin(['train', '-', '-o', run, ...SMALL], TEXT);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /^corpus: standard input \([\d,]+ bytes/m);
  const { corpus } = readCheckpointMeta(join(run, 'latest')).training;
  assert.equal(corpus.path, '-');
  assert.deepEqual(corpus.files, []);
  assert.equal(corpus.fingerprint, sha256(TEXT));
  const val = await cli(['eval', run, '--backend', 'wasm']);
  assert.equal(val.code, 3);
  assert.equal(
    val.stderr.trim().split('\n').at(-1),
    'charrnn: cannot score the validation split (the corpus was read from standard input, so there is no file to read again); give a text file to score: charrnn eval <checkpoint> <file>',
  );
});

test(`train - refuses more than ${STDIN_LIMIT_BYTES / 2 ** 20} MiB in one line, exit 3; and - cannot be combined with files`, async () => {
  const tooMuch = await withStdin(['train', '-', '-o', join(WORK, 'big'), ...SMALL], Buffer.alloc(STDIN_LIMIT_BYTES + 1, 'a'));
  assert.equal(tooMuch.code, 3);
  assert.equal(
    tooMuch.stderr,
    `charrnn: standard input holds more than ${STDIN_LIMIT_BYTES / 2 ** 20} MiB; save it to a file and train on that\n`,
  );
  const mixed = await withStdin(['train', '-', join(FOLDER, 'a.txt'), ...SMALL], 'abc');
  assert.equal(mixed.code, 3);
  assert.match(mixed.stderr, /^charrnn: '-' \(standard input\) cannot be combined with files\n$/);
});
