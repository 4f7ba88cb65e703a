// End-to-end tests of the command line: the real bin/charrnn.js in a child process.
// One small model is trained once (top-level await) and shared by the tests below.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, runCli, workDir, TINY_CORPUS as TINY } from './helpers.mjs';
import { SaveRecord } from '../dist/cli/train.js';

const TINY_TEXT = fs.readFileSync(TINY, 'utf8');
const TINY_CHARS = new Set(TINY_TEXT);

const WORK = workDir('cli');

/** The shared run's settings: small enough for a few seconds on two cores. */
const SMALL = ['--hidden', '32', '--layers', '1', '--seq', '16', '--batch', '8', '--backend', 'wasm'];
/** The smallest useful run: one step of a tiny model, for tests that only need training to start and finish. */
const ONE_STEP = ['--hidden', '8', '--layers', '1', '--seq', '4', '--batch', '2', '--max-steps', '1', '--backend', 'wasm'];

const cli = (args, { cwd = WORK } = {}) => runCli(args, { cwd });

const show = (r) => `charrnn ${r.args.join(' ')}\nexit ${r.code}\n--- stderr\n${r.stderr}--- stdout\n${r.stdout.slice(0, 500)}`;

function assertSucceeded(r) {
  assert.equal(r.code, 0, show(r));
  assert.ok(!r.stderr.includes('\x1b['), `ANSI escape codes with NO_COLOR:\n${show(r)}`);
  assert.ok(!r.stdout.includes('\x1b['), `ANSI escape codes on stdout:\n${show(r)}`);
}

/**
 * A user error: non-zero exit (exactly `code` if given), nothing on stdout, no stack trace,
 * and exactly one line on stderr besides the `backend:` line:
 * the error, starting with `charrnn:` or `error:`. Returns that line.
 */
function assertOneLineError(r, { code, mentions = [] } = {}) {
  assert.notEqual(r.code, 0, show(r));
  assert.equal(r.signal, null, show(r));
  if (code !== undefined) assert.equal(r.code, code, show(r));
  assert.equal(r.stdout, '', show(r));
  assert.ok(!r.stderr.includes('\x1b['), `ANSI escape codes with NO_COLOR:\n${show(r)}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  assert.ok(!lines.some((l) => l.includes('    at ')), `stack trace:\n${show(r)}`);
  const rest = lines.filter((l) => !/^(backend:|  skipped )/.test(l));
  assert.equal(rest.length, 1, `expected one error line:\n${show(r)}`);
  const [line] = rest;
  assert.match(line, /^charrnn: /, show(r)); // commander's own errors too: one style
  for (const m of mentions) {
    if (m instanceof RegExp) assert.match(line, m, show(r));
    else assert.ok(line.includes(m), `error line should mention ${JSON.stringify(m)}:\n${show(r)}`);
  }
  return line;
}

/** A fresh directory under the test's work directory. */
let dirCount = 0;
function freshDir(name = 'd') {
  const dir = path.join(WORK, `${name}-${dirCount++}`);
  fs.mkdirSync(dir);
  return dir;
}

/** A copy of a checkpoint directory to corrupt. */
function copyCheckpoint(from) {
  const dir = path.join(WORK, `ckpt-${dirCount++}`);
  fs.cpSync(from, dir, { recursive: true });
  return dir;
}

function weightsFile(checkpointDir) {
  const names = fs.readdirSync(checkpointDir).filter((n) => /^weights-.*\.bin$/.test(n));
  assert.equal(names.length, 1, `one weights file in ${checkpointDir}: ${names}`);
  return path.join(checkpointDir, names[0]);
}

function editModelJson(checkpointDir, edit) {
  const file = path.join(checkpointDir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

const RUN = path.join(WORK, 'run');
const trained = await cli(['train', TINY, '-o', RUN, ...SMALL, '--max-steps', '30', '--eval-every', '10']);

// ---------------------------------------------------------------- end to end

test('train → sample → eval, end to end', { timeout: 120_000 }, async (t) => {
  await t.test('train writes best/ and latest/ checkpoints and says what it did', () => {
    assertSucceeded(trained);
    assert.equal(trained.stdout, '', 'train prints nothing on stdout');
    assert.match(trained.stderr, /^backend: /m);
    assert.match(trained.stderr, /^done\b.*30 steps/m);
    assert.ok(!trained.stderr.includes('    at '));
    for (const kind of ['best', 'latest']) {
      const dir = path.join(RUN, kind);
      assert.ok(fs.existsSync(path.join(dir, 'model.json')), `${kind}/model.json`);
      weightsFile(dir);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(json.format, 'layers-model');
      assert.equal(json.charrnn.formatVersion, 4);
      assert.equal(json.charrnn.model.hidden, 32);
    }
  });

  await t.test('sample: text from the training alphabet, reproducible by seed', async () => {
    const [a, b, c, latest] = await Promise.all([
      cli(['sample', RUN, '-n', '100', '--seed', '3', '--backend', 'wasm']),
      cli(['sample', RUN, '-n', '100', '--seed', '3', '--backend', 'wasm']),
      cli(['sample', RUN, '-n', '100', '--seed', '4', '--backend', 'wasm']),
      cli(['sample', path.join(RUN, 'latest'), '-n', '10', '--seed', '3', '--backend', 'wasm']),
    ]);
    for (const r of [a, b, c, latest]) assertSucceeded(r);
    assert.match(a.stderr, /^backend: /m);
    assert.ok(a.stdout.endsWith('\n'));
    // No prime: the 100 generated characters alone (the newline the model read first is not printed).
    assert.equal([...a.stdout.slice(0, -1)].length, 100, JSON.stringify(a.stdout));
    assert.doesNotMatch(a.stderr, /^seed /m, 'a seed given is not repeated back');
    for (const ch of a.stdout) assert.ok(TINY_CHARS.has(ch), `${JSON.stringify(ch)} is not in the training text`);
    assert.equal(b.stdout, a.stdout, 'same seed, same text');
    assert.notEqual(c.stdout, a.stdout, 'another seed, other text');
    assert.equal([...latest.stdout.slice(0, -1)].length, 10);
  });

  await t.test('sample without --seed: the seed used is on stderr, and --seed repeats the sample', async () => {
    const first = await cli(['sample', RUN, '-n', '80', '--backend', 'wasm']);
    assertSucceeded(first);
    const seed = /^seed (-?\d+) \(pass --seed \1 to repeat this sample\)$/m.exec(first.stderr)?.[1];
    assert.ok(seed, first.stderr);
    const again = await cli(['sample', RUN, '-n', '80', '--seed', seed, '--backend', 'wasm']);
    assertSucceeded(again);
    assert.equal(again.stdout, first.stdout);
  });

  await t.test('sample: --temperature 0 is --argmax; --prime comes first', async () => {
    const [zero, argmax, primed] = await Promise.all([
      cli(['sample', RUN, '-n', '60', '--temperature', '0', '--seed', '5', '--backend', 'wasm']),
      cli(['sample', RUN, '-n', '60', '--argmax', '--seed', '5', '--backend', 'wasm']),
      cli(['sample', RUN, '-n', '50', '--prime', 'the ', '--seed', '5', '--backend', 'wasm']),
    ]);
    for (const r of [zero, argmax, primed]) assertSucceeded(r);
    assert.equal(argmax.stdout, zero.stdout);
    assert.equal([...zero.stdout.slice(0, -1)].length, 60);
    assert.ok(primed.stdout.startsWith('the '), JSON.stringify(primed.stdout));
    assert.equal([...primed.stdout.slice(0, -1)].length, 4 + 50);
    for (const ch of primed.stdout) assert.ok(TINY_CHARS.has(ch), `${JSON.stringify(ch)} is not in the training text`);
  });

  await t.test('eval: the validation split, and a file as JSON', async () => {
    const [val, json] = await Promise.all([
      cli(['eval', RUN, '--backend', 'wasm']),
      cli(['eval', RUN, TINY, '--json', '--backend', 'wasm']),
    ]);
    assertSucceeded(val);
    assert.match(val.stdout, /validation split/);
    assert.match(val.stdout, /nats\/char.*bits\/char.*perplexity/);

    assertSucceeded(json);
    const lines = json.stdout.trim().split('\n');
    assert.equal(lines.length, 1, json.stdout);
    const score = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(score).sort(), ['bits', 'chars', 'nats', 'perplexity']);
    for (const v of Object.values(score)) assert.equal(typeof v, 'number');
    assert.ok(score.nats > 0 && score.nats < Math.log(TINY_CHARS.size) + 1, `nats ${score.nats}`);
    const close = (x, y) => Math.abs(x - y) <= 1e-6 * Math.abs(y);
    assert.ok(close(score.bits, score.nats / Math.LN2), `bits ${score.bits} vs nats/ln2 ${score.nats / Math.LN2}`);
    assert.ok(close(score.perplexity, Math.exp(score.nats)), `perplexity ${score.perplexity} vs e^nats ${Math.exp(score.nats)}`);
    assert.ok(Number.isInteger(score.chars) && score.chars > 0 && score.chars < [...TINY_TEXT].length);
  });
});

// ---------------------------------------------------------------- bad input

describe('bad input: one line on stderr, non-zero exit', { concurrency: 2, timeout: 120_000 }, () => {
  // -------- the corpus
  test('missing corpus file', async () => {
    const r = await cli(['train', path.join(WORK, 'no-such.txt'), '-o', path.join(WORK, 'x1'), ...ONE_STEP]);
    assertOneLineError(r, { code: 3, mentions: ['no-such.txt', /no such file/] });
  });

  test('a directory with no text files as corpus', async () => {
    const dir = freshDir('corpus-dir');
    const r = await cli(['train', dir, '-o', path.join(WORK, 'x2'), ...ONE_STEP]);
    assertOneLineError(r, { code: 3, mentions: [dir, /no text files in the directory/] });
  });

  test('empty file', async () => {
    const file = path.join(freshDir(), 'empty.txt');
    fs.writeFileSync(file, '');
    assertOneLineError(await cli(['train', file, '-o', path.join(WORK, 'x3'), ...ONE_STEP]), { code: 3, mentions: [/empty/] });
  });

  test('binary file (NUL bytes)', async () => {
    const file = path.join(freshDir(), 'data.bin');
    fs.writeFileSync(file, Buffer.from([0x41, 0x42, 0x00, 0x01, 0x02, 0x43]));
    assertOneLineError(await cli(['train', file, '-o', path.join(WORK, 'x4'), ...ONE_STEP]), { code: 3, mentions: [/binary/, /offset 2/] });
  });

  test('invalid UTF-8 names the byte offset and --encoding latin1, which then trains', async () => {
    const dir = freshDir('latin1');
    const file = path.join(dir, 'latin1.txt');
    fs.writeFileSync(file, Buffer.from('Hello \xff\xfe world', 'latin1'));
    const refused = await cli(['train', file, '-o', path.join(dir, 'run'), ...ONE_STEP]);
    assertOneLineError(refused, { code: 3, mentions: [/byte offset 6\b/, '--encoding latin1'] });

    const ok = await cli([
      'train',
      file,
      '-o',
      path.join(dir, 'run'),
      ...ONE_STEP,
      '--seq',
      '2',
      '--batch',
      '1',
      '--val-frac',
      '0.2',
      '--encoding',
      'latin1',
    ]);
    assertSucceeded(ok);
    assert.match(ok.stderr, /^done\b/m);
    assert.match(ok.stderr, /\b10 distinct characters/); // H e l o space ÿ þ w r d
    assert.ok(fs.existsSync(path.join(dir, 'run', 'best', 'model.json')));
  });

  test('corpus too small for the batch: one line that suggests smaller values', async () => {
    const dir = freshDir('small');
    const file = path.join(dir, 'small.txt');
    fs.writeFileSync(file, TINY_TEXT.slice(0, 100)); // with the default --seq 50 --batch 50
    const r = await cli(['train', file, '-o', path.join(dir, 'run'), '--backend', 'wasm']);
    assertOneLineError(r, { code: 3, mentions: [/too small/, /--batch \d+|--seq \d+/] });
  });

  test('a UTF-8 BOM is stripped and the summary says so', async () => {
    const dir = freshDir('bom');
    const file = path.join(dir, 'bom.txt');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TINY_TEXT.slice(0, 300))]));
    const r = await cli(['train', file, '-o', path.join(dir, 'run'), ...ONE_STEP]);
    assertSucceeded(r);
    assert.match(r.stderr, /^corpus: .*(byte-order mark|BOM)/m);
    assert.match(r.stderr, /^done\b/m);
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'best', 'model.json'), 'utf8')).charrnn.vocab;
    assert.ok(!vocab.includes('\ufeff'), 'the BOM is not a character of the model');
  });

  test('CRLF line endings train and are reported', async () => {
    const r = await crlfRun();
    assertSucceeded(r.train);
    assert.match(r.train.stderr, /^corpus: .*\bCRLF\b/m);
    assert.doesNotMatch(r.train.stderr, /mixed/);
    assert.match(r.train.stderr, /^done\b/m);
  });

  // -------- flags (each flag's values and messages: cli-parse.test.mjs, without a process per case)
  test('an unknown flag', async () => {
    const r = await cli(['train', TINY, '-o', path.join(WORK, 'never'), '--bogus']);
    assertOneLineError(r, { code: 2, mentions: ['--bogus'] });
    assert.equal(r.stderr, "charrnn: unknown option '--bogus'\n", 'in the style of our own errors');
    assert.ok(!fs.existsSync(path.join(WORK, 'never')));
  });

  test('a bad flag value', async () => {
    const r = await cli(['train', TINY, '-o', path.join(WORK, 'never'), '--dropout', '1.5']);
    assertOneLineError(r, { code: 2, mentions: ['--dropout', '1.5'] });
    assert.ok(!fs.existsSync(path.join(WORK, 'never')));
  });

  // -------- checkpoints
  test('sample of a nonexistent checkpoint', async () => {
    const missing = path.join(WORK, 'no-such-run');
    assertOneLineError(await cli(['sample', missing, '--backend', 'wasm']), { code: 4, mentions: [missing] });
  });

  test('sample --prime with a character the model never saw names it', async () => {
    assert.ok(!TINY_CHARS.has('€') && TINY_CHARS.has('t'));
    const r = await cli(['sample', RUN, '--prime', 'the €', '-n', '5', '--backend', 'wasm']);
    assertOneLineError(r, { code: 2, mentions: ['--prime', '€'] });
  });

  test('corrupt checkpoint: model.json is garbage', async () => {
    const dir = copyCheckpoint(path.join(RUN, 'best'));
    fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "layers-model", garbage');
    assertOneLineError(await cli(['sample', dir, '-n', '5', '--backend', 'wasm']), {
      code: 4,
      mentions: [/model\.json/, /corrupt|not valid JSON/],
    });
  });

  test('corrupt checkpoint: weights file truncated', async () => {
    const dir = copyCheckpoint(path.join(RUN, 'best'));
    const weights = weightsFile(dir);
    fs.truncateSync(weights, Math.floor(fs.statSync(weights).size / 2));
    assertOneLineError(await cli(['sample', dir, '-n', '5', '--backend', 'wasm']), { code: 4, mentions: [/truncated|corrupt/] });
  });

  test('corrupt checkpoint: one byte of the weights flipped (checksum)', async () => {
    const dir = copyCheckpoint(path.join(RUN, 'best'));
    const weights = weightsFile(dir);
    const bytes = fs.readFileSync(weights);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    fs.writeFileSync(weights, bytes);
    assertOneLineError(await cli(['sample', dir, '-n', '5', '--backend', 'wasm']), { code: 4, mentions: [/checksum/] });
  });

  test('a checkpoint from a newer format version', async () => {
    const dir = copyCheckpoint(path.join(RUN, 'best'));
    editModelJson(dir, (json) => (json.charrnn.formatVersion = 99));
    assertOneLineError(await cli(['sample', dir, '-n', '5', '--backend', 'wasm']), { code: 4, mentions: [/newer/, '99'] });
  });

  test('corrupt checkpoint: model.json without its training record', async () => {
    const dir = copyCheckpoint(path.join(RUN, 'best'));
    editModelJson(dir, (json) => delete json.charrnn.training);
    assertOneLineError(await cli(['eval', dir, TINY, '--backend', 'wasm']), { code: 4, mentions: [/corrupt|missing/] });
  });

  // -------- eval
  test('eval of a file with characters the model never saw skips and counts them', async () => {
    const file = path.join(freshDir(), 'unseen.txt');
    assert.ok(!TINY_CHARS.has('Z') && !TINY_CHARS.has('€'));
    fs.writeFileSync(file, `${TINY_TEXT.slice(0, 400)}ZZZ €€\n${TINY_TEXT.slice(400, 800)}`);
    const r = await cli(['eval', RUN, file, '--json', '--backend', 'wasm']);
    assertSucceeded(r);
    assert.match(r.stderr, /skipped 5 characters/);
    assert.match(r.stderr, /"Z"/);
    assert.match(r.stderr, /"€"/);
    const score = JSON.parse(r.stdout);
    assert.ok(score.chars > 0 && Number.isFinite(score.nats));
  });

  test('eval <run> of a run trained with --encoding latin1 scores its validation split', async () => {
    const dir = freshDir('latin1-eval');
    fs.writeFileSync(path.join(dir, 'café.txt'), Buffer.from(`${TINY_TEXT.slice(0, 400)} caf\xe9 na\xefve\n`, 'latin1'));
    const trainedLatin1 = await cli(['train', 'café.txt', '-o', 'run', ...ONE_STEP, '--encoding', 'latin1'], { cwd: dir });
    assertSucceeded(trainedLatin1);
    const r = await cli(['eval', 'run', '--encoding', 'latin1', '--backend', 'wasm'], { cwd: dir });
    assertSucceeded(r);
    assert.match(r.stdout, /validation split/);
  });

  test('eval <run> finds a corpus given by a relative path from another working directory', async () => {
    const { dir } = await crlfRun();
    const r = await cli(['eval', path.join(dir, 'run'), '--backend', 'wasm'], { cwd: WORK });
    assertSucceeded(r);
    assert.match(r.stdout, /validation split/);
  });

  // -------- the output directory
  test('train -o into a directory with checkpoints is refused without --force', async () => {
    const out = path.join(WORK, 'force-run');
    fs.cpSync(RUN, out, { recursive: true });
    const before = fs.readFileSync(path.join(out, 'best', 'model.json'), 'utf8');
    const refused = await cli(['train', TINY, '-o', out, ...ONE_STEP]);
    assertOneLineError(refused, { code: 2, mentions: ['--force', out] });
    assert.equal(fs.readFileSync(path.join(out, 'best', 'model.json'), 'utf8'), before, 'untouched');

    const forced = await cli(['train', TINY, '-o', out, ...ONE_STEP, '--force']);
    assertSucceeded(forced);
    assert.match(forced.stderr, /^done\b/m);
    for (const kind of ['best', 'latest']) {
      const json = JSON.parse(fs.readFileSync(path.join(out, kind, 'model.json'), 'utf8'));
      assert.equal(json.charrnn.model.hidden, 8, `${kind} was overwritten by the new run`);
      weightsFile(path.join(out, kind)); // exactly one weights file: the old one is gone
    }
  });
});

// ---------------------------------------------------------------- shared runs for the tests above

let crlfResult;
/** A CRLF corpus trained by a relative path, from its own directory. */
function crlfRun() {
  crlfResult ??= (async () => {
    const dir = freshDir('crlf');
    const lines = TINY_TEXT.split('\n').slice(0, 12);
    fs.writeFileSync(path.join(dir, 'crlf.txt'), lines.map((l) => `${l}\r\n`).join(''));
    const train = await cli(['train', 'crlf.txt', '-o', 'run', ...ONE_STEP], { cwd: dir });
    return { dir, train };
  })();
  return crlfResult;
}

describe('interrupting training', { concurrency: 2, timeout: 120_000 }, () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]) {
    test(`${signal} finishes the step, saves latest/ and exits ${code}`, async () => {
      const out = path.join(freshDir(signal), 'run');
      const args = ['train', TINY, '-o', out, ...SMALL, '--epochs', '100000', '--save-every', '100000', '--eval-every', '100000'];
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: WORK,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let signalled = false;
      child.stderr.setEncoding('utf8').on('data', (d) => {
        stderr += d;
        if (!signalled && stderr.includes('steps per epoch')) {
          signalled = true; // once: a second signal means "quit at once"
          setTimeout(() => child.kill(signal), 500); // training has started
        }
      });
      const [exitCode] = await new Promise((resolve) => child.on('close', (...result) => resolve(result)));
      assert.equal(exitCode, code, stderr);
      assert.match(stderr, new RegExp(`${signal}: finishing this step`));
      assert.match(stderr, /latest checkpoint: .*latest/);
      assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'the run directory is released');
      const sample = await cli(['sample', path.join(out, 'latest'), '-n', '20', '--seed', '1', '--backend', 'wasm']);
      assertSucceeded(sample);
    });
  }
});

test('a second Ctrl-C says which steps the checkpoints hold and which are lost', () => {
  const saves = new SaveRecord();
  assert.equal(saves.describe('run'), 'this run has saved nothing in run yet');
  for (let step = 1; step <= 7; step++) {
    saves.onStep(step);
    if (step % 3 === 0) saves.onCheckpoint('latest');
    if (step === 3) saves.onCheckpoint('best');
  }
  assert.equal(saves.describe('run'), 'in run, latest/ holds step 6, best/ step 3; step 7 is not saved');
  saves.onCheckpoint('latest');
  assert.equal(saves.describe('run'), 'in run, latest/ holds step 7, best/ step 3');
});

test('--version prints the package version and exits 0', async () => {
  const r = await cli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
});
