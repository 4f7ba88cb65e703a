// Input that is damaged, huge or merely odd: bounded reads, memory estimates, every
// loaded field checked, the divergence guard on easy text, signals and backends.
// Each gets one line and its exit code, fast, never a stack trace or a hang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint, readCheckpointMeta } from '../dist/checkpoint/checkpoint.js';
import { readMetrics } from '../dist/checkpoint/metrics.js';
import { readCorpus } from '../dist/data/corpus.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { assertMemoryFits, estimateSamplingMemory, estimateTrainingMemory } from '../dist/training/memory.js';
import { isDivergence, nextLossFloor } from '../dist/training/rollback.js';
import { trainerThreads } from '../dist/training/data-parallel.js';
import { train } from '../dist/training/trainer.js';
import { availableParallelism } from 'node:os';
import { runCli, useBackend, workDir, TINY_CORPUS as TINY } from './helpers.mjs';

const WORK = workDir('odd');
const tf = await useBackend('wasm');
const cli = (args) => runCli(args, { cwd: WORK });
const TINY_MODEL = { ...TRAIN_DEFAULTS, hidden: 8, layers: 1, seq: 8, batch: 4, maxSteps: 2, evalEvery: 1, saveEvery: 1 };

/** A one-line error of this class and exit code, whose message matches `pattern`. */
function refused(exitCode, pattern) {
  return (err) => {
    assert.equal(err.exitCode, exitCode, err.stack);
    assert.ok(!err.message.includes('\n'), err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

/** The CLI's one error line (besides the backend line), after checking the exit code and that nothing else was printed. */
function oneLine(r, code) {
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^(backend:|  skipped )/.test(l));
  assert.equal(r.code, code, r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^charrnn: /);
  assert.doesNotMatch(r.stderr + r.stdout, /NaN|undefined|    at /);
  return lines[0];
}

// One tiny run, resumable, that the damaged copies below start from.
const RUN = path.join(WORK, 'run');
await train({ corpus: readCorpus(TINY), config: TINY_MODEL, outDir: RUN, backend: 'wasm', threads: 1 });

/** A copy of RUN whose latest and best model.json went through `edit(json)`. */
let copies = 0;
function damagedCopy(edit) {
  const dir = path.join(WORK, `damaged-${copies++}`);
  fs.cpSync(RUN, dir, { recursive: true });
  for (const kind of ['latest', 'best']) {
    const file = path.join(dir, kind, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(json);
    fs.writeFileSync(file, JSON.stringify(json));
  }
  return dir;
}

const blobIn = (dir, kind) =>
  path.join(
    dir,
    fs.readdirSync(dir).find((f) => f.startsWith(`${kind}-`)),
  );

describe('bounded reads: what is not a regular file, or not the size its shapes give, is refused before it is read', () => {
  const fifo = path.join(WORK, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [name, file, pattern] of [
    ['/dev/zero (would be read without end)', '/dev/zero', /\/dev\/zero: is a device, not a regular file/],
    ['a FIFO (would block forever)', fifo, /is a FIFO/],
    ['a directory', WORK, /is a directory/],
  ]) {
    test(`corpus: ${name}, exit 3`, () => assert.throws(() => readCorpus(file), refused(3, pattern)));
  }

  const replaced = (kind, by) => {
    const dir = damagedCopy(() => {});
    const file = blobIn(path.join(dir, 'latest'), kind);
    fs.rmSync(file);
    by(file);
    return dir;
  };
  for (const [name, dir, pattern] of [
    [
      'weights file a symlink to /dev/zero',
      () => replaced('weights', (f) => fs.symlinkSync('/dev/zero', f)),
      /weights file .* is a device/,
    ],
    ['weights file a FIFO', () => replaced('weights', (f) => execFileSync('mkfifo', [f])), /weights file .* is a FIFO/],
    [
      'weights file 4 bytes too long',
      () =>
        replaced('weights', (f) => fs.writeFileSync(f, Buffer.alloc(fs.statSync(blobIn(path.join(RUN, 'latest'), 'weights')).size + 4))),
      /holds \d+ bytes, expected \d+/,
    ],
    [
      'training state a symlink to /dev/zero',
      () => replaced('state', (f) => fs.symlinkSync('/dev/zero', f)),
      /training state file .* is a device/,
    ],
    [
      'model.json a symlink to /dev/zero',
      () => {
        const d = damagedCopy(() => {});
        fs.rmSync(path.join(d, 'latest', 'model.json'));
        fs.symlinkSync('/dev/zero', path.join(d, 'latest', 'model.json'));
        return d;
      },
      /model\.json is a device/,
    ],
  ]) {
    test(`checkpoint: ${name}, exit 4`, () =>
      assert.throws(() => loadCheckpoint(path.join(dir(), 'latest'), { resume: true }), refused(4, pattern)));
  }
});

describe('memory: what cannot fit is refused from its shapes, with the estimate, before allocating', () => {
  const lstm = (vocabSize, hidden, layers = 2) => ({ vocabSize, hidden, layers, dropout: 0, cell: 'lstm' });
  const defaults = { seq: 50, batch: 50, threads: 2 };
  for (const [name, estimate, backend] of [
    ['--hidden 100000', estimateTrainingMemory(lstm(79, 100000), defaults), 'wasm'],
    ['--hidden 8000', estimateTrainingMemory(lstm(79, 8000), defaults), 'wasm'],
    ["--hidden 100000 on the cpu backend (the machine's memory)", estimateTrainingMemory(lstm(79, 100000), defaults), 'cpu'],
    ['a 41,056-character vocabulary with default flags', estimateTrainingMemory(lstm(41056, 128), defaults), 'wasm'],
    ['--seq 100000 --batch 1000', estimateTrainingMemory(lstm(79, 128), { seq: 100000, batch: 1000, threads: 2 }), 'wasm'],
    ['--layers 1000 --hidden 1024', estimateTrainingMemory(lstm(79, 1024, 1000), defaults), 'wasm'],
    ['--num-samples 1000000 of a 2x128 model', estimateSamplingMemory(lstm(79, 128), 1_000_000, 500), 'wasm'],
    ['--num-samples 1000000 of a 1x8 model, 500 characters each (JS heap)', estimateSamplingMemory(lstm(35, 8, 1), 1_000_000, 500), 'wasm'],
  ]) {
    test(`refused: ${name}, exit 2`, () =>
      assert.throws(() => assertMemoryFits(estimate, 'this run', 'smaller', backend), refused(2, /this run needs about [\d,.]+ GB/)));
  }
  for (const [name, estimate] of [
    ['the default 2x128 model', estimateTrainingMemory(lstm(79, 128), defaults)],
    ['a 3x512 model at seq 100, batch 32', estimateTrainingMemory(lstm(79, 512, 3), { seq: 100, batch: 32, threads: 2 })],
    ['16 samples of a 2x256 model', estimateSamplingMemory(lstm(79, 256), 16, 2000)],
  ]) {
    test(`fits: ${name}`, () => assertMemoryFits(estimate, 'this run', 'smaller', 'wasm'));
  }

  test('the CLI refuses --hidden 100000 in one line, exit 2, before allocating', async () => {
    assert.match(oneLine(await cli(['train', TINY, '--hidden', '100000', '--backend', 'wasm', '-o', 'huge']), 2), /needs about [\d,]+ GB/);
  });

  test('threads: never more than the streams or the cores', () => {
    const cores = availableParallelism();
    assert.equal(trainerThreads(99, 99).threads, cores);
    assert.equal(trainerThreads(99, 1).threads, 1);
    assert.equal(trainerThreads(1, 50).threads, 1);
  });
});

describe('every loaded field checked: a damaged model.json is refused naming the field, exit 4', () => {
  for (const [field, edit, pattern] of [
    ['a duplicate vocabulary entry', (j) => (j.charrnn.vocab[1] = j.charrnn.vocab[0]), /charrnn\.vocab\[1\] repeats/],
    ['a vocabulary entry of two characters', (j) => (j.charrnn.vocab[1] = 'ab'), /charrnn\.vocab\[1\] should be one character/],
    ['vocabulary longer than vocabSize', (j) => j.charrnn.vocab.push('€'), /charrnn\.vocab has \d+ characters/],
    ['training.epoch missing', (j) => delete j.charrnn.training.epoch, /charrnn\.training\.epoch is missing/],
    ['training.step a string', (j) => (j.charrnn.training.step = '12'), /charrnn\.training\.step should be an integer/],
    ['training.step negative', (j) => (j.charrnn.training.step = -2), /charrnn\.training\.step should be an integer ≥ 0/],
    ['training.config.lr a string', (j) => (j.charrnn.training.config.lr = 'fast'), /charrnn\.training\.config\.lr/],
    ['training.config.batch fractional', (j) => (j.charrnn.training.config.batch = 2.5), /charrnn\.training\.config\.batch/],
    ['training.history null', (j) => (j.charrnn.training.history = null), /charrnn\.training\.history should be a list/],
    ['a history valLoss a string', (j) => (j.charrnn.training.history[0].valLoss = 'low'), /charrnn\.training\.history\[0\]\.valLoss/],
    [
      'corpus.counts the wrong length',
      (j) => (j.charrnn.training.corpus.counts = [1, 2]),
      /charrnn\.training\.corpus\.counts has 2 entries/,
    ],
    ['corpus.counts non-integer', (j) => (j.charrnn.training.corpus.counts[0] = 1.5), /charrnn\.training\.corpus\.counts\[0\]/],
    ['model.dropout -1', (j) => (j.charrnn.model.dropout = -1), /charrnn\.model\.dropout/],
    [
      "model.hidden not the manifest's",
      (j) => (j.charrnn.model.hidden = 9),
      /charrnn\.training\.config\.hidden is 8, but charrnn\.model\.hidden is 9/,
    ],
    ['a manifest shape changed', (j) => (j.weightsManifest[0].weights[0].shape = [3, 3]), /weightsManifest should be one file/],
    [
      'resume.adamStep negative (was "training diverged", exit 5)',
      (j) => (j.charrnn.resume.adamStep = -3),
      /charrnn\.resume\.adamStep should be an integer ≥ 0/,
    ],
    ['resume.minLoss a string', (j) => (j.charrnn.resume.minLoss = 'low'), /charrnn\.resume\.minLoss/],
    ['resume.lrScale 0', (j) => (j.charrnn.resume.lrScale = 0), /charrnn\.resume\.lrScale should be in \(0, 1\]/],
    ["resume.shapes not the model's", (j) => (j.charrnn.resume.shapes = [[1]]), /charrnn\.resume\.shapes does not match the model/],
  ]) {
    test(field, () => assert.throws(() => loadCheckpoint(damagedCopy(edit), { resume: true }), refused(4, pattern)));
  }

  test('a checkpoint whose minLoss was Infinity (JSON null) still resumes', () => {
    const loaded = loadCheckpoint(
      damagedCopy((j) => (j.charrnn.resume.minLoss = null)),
      { resume: true },
    );
    assert.equal(loaded.resume.minLoss, Infinity);
    loaded.model.dispose();
    loaded.resume.tensors.forEach((t) => t.dispose());
  });

  test('info and train --resume print one line, never NaN, undefined or a stack', async () => {
    const noEpoch = damagedCopy((j) => delete j.charrnn.training.epoch);
    assert.match(oneLine(await cli(['info', noEpoch]), 4), /training\.epoch is missing/);
    const badAdam = damagedCopy((j) => (j.charrnn.resume.adamStep = 'x'));
    assert.match(oneLine(await cli(['train', '--resume', badAdam, '--max-steps', '5', '--backend', 'wasm']), 4), /resume\.adamStep/);
  });

  test('metrics.jsonl: a JSON line with wrong fields is refused naming the line; a torn line is skipped', () => {
    const file = path.join(WORK, 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":1,"trainLoss":2}\n{"step":2,"trai\n{"step":3,"trainLoss":1.5}\n');
    assert.deepEqual(
      readMetrics(file).map((r) => r.step),
      [1, 3],
    );
    for (const [line, pattern] of [
      ['{"step":"x","trainLoss":1}', /line 2: field step should be an integer ≥ 1/],
      ['{"step":-1,"trainLoss":1}', /line 2: field step/],
      ['{"step":2,"trainLoss":"low"}', /line 2: field trainLoss/],
      ['[1,2]', /line 2: field \(the line\) should be an object/],
    ]) {
      fs.writeFileSync(file, `{"step":1,"trainLoss":2}\n${line}\n`);
      assert.throws(() => readMetrics(file), refused(4, pattern));
    }
  });

  test("readCheckpointMeta (plot's fallback) applies the same checks", () => {
    assert.throws(
      () =>
        readCheckpointMeta(
          path.join(
            damagedCopy((j) => (j.charrnn.training.seconds = 'x')),
            'best',
          ),
        ),
      refused(4, /training\.seconds/),
    );
  });
});

describe('legal input that looks odd', () => {
  test('the divergence guard: blow-ups only, not small losses that triple', () => {
    for (const [loss, min, diverged] of [
      [0.44, 0.1, false], // easy text, one harder batch
      [0.005, 0.0009, false],
      [1.05, 0.05, false],
      [4.4, 1.5, false],
      [5, 1.5, true],
      [1.2, 0.1, true],
      [NaN, 1, true],
      [Infinity, 1, true],
      [12, 3, true],
    ]) {
      assert.equal(
        isDivergence(loss, min, () => loss),
        diverged,
        `loss ${loss} after a lowest ${min}, and again on the next batch`,
      );
    }
    assert.equal(
      isDivergence(5, 1.5, () => 1.6),
      false,
      'a loss over the line whose next batch is ordinary',
    );
    assert.equal(
      isDivergence(NaN, 1, () => assert.fail('a non-finite loss needs no second look')),
      true,
    );
    assert.equal(
      isDivergence(1.6, 1.5, () => assert.fail('an ordinary loss needs no second look')),
      false,
    );
  });

  test('the divergence guard: one lucky small batch does not make the next hard one a blow-up', () => {
    // Losses as a 1×8 model on 32-character batches gives them: about 1.2, a lucky 0.6, then a hard 2.3.
    const losses = [4.3, 3.9, 3.4, 2.9, 2.5, 2.1, 1.8, 1.5, 1.3, 1.2, 1.25, 1.15, 0.6, 2.3, 1.2, 1.1];
    let floor = Infinity;
    let lowest = Infinity;
    for (const loss of losses) {
      // Even were the next batch as hard: the floor alone keeps it under the line.
      assert.equal(
        isDivergence(loss, floor, () => loss),
        false,
        `loss ${loss} against the floor ${floor}`,
      );
      floor = nextLossFloor(floor, loss);
      lowest = Math.min(lowest, loss);
    }
    assert.equal(
      isDivergence(2.3, lowest, () => 2.3),
      true,
      'against the lowest loss ever, the hard batch would read as a blow-up',
    );
    // A real blow-up from that level is still one, and the floor follows a falling loss down.
    assert.equal(
      isDivergence(4.5, floor, () => 4.5),
      true,
    );
    let falling = 1;
    for (let k = 0; k < 60; k++) falling = nextLossFloor(falling, 0.01);
    assert.ok(falling < 0.02, `floor ${falling} after 60 steps at 0.01`);
  });

  test('the divergence guard: a hard batch at the same place every epoch is not a blow-up; a loss that stays high is', () => {
    // Training losses of steps 98–304 of `train corpora/tiny.txt --hidden 8 --layers 1 --seq 8 --batch 4
    // --lr 0.05 --threads 1` (wasm): epochs 2 and 3, then 13 steps of epoch 4. Each epoch's last
    // batch (steps 194 and 291) holds text the corpus has once ("boats come", "says, \"Hell",
    // " rain.") and reads 2.3 and 2.0 against floors of 0.74 and 0.62, as step 303's does; the
    // step after each is ordinary. Judged alone, they stopped that run at step 194 (exit 5).
    const losses = [
      1.56, 1.31, 1.81, 1.46, 1.14, 1, 1.32, 1.61, 1.24, 0.76, 1.31, 2.14, 1.26, 1.42, 1.36, 1.35, 1.76, 1.13, 1.35, 1.67, 0.87, 0.9, 0.83,
      1.06, 1.59, 1.22, 1.36, 1.57, 1.18, 1.41, 1.35, 1.96, 1.32, 1.26, 1.58, 0.99, 1.3, 1.01, 0.99, 1.43, 0.87, 1.8, 0.9, 1.7, 0.98, 1.19,
      1.65, 1.14, 0.96, 1.59, 1.11, 1.27, 1.44, 1.71, 1.6, 1.23, 1.23, 1.16, 1.03, 0.64, 1.19, 1, 1.13, 1.03, 1.1, 1.8, 1.58, 1.04, 1.41,
      0.86, 1.35, 0.83, 0.98, 1.22, 1.09, 0.95, 1, 0.68, 0.9, 0.79, 1.22, 0.95, 1.12, 1, 0.96, 1.12, 1.34, 1.03, 0.75, 1.36, 1.64, 0.93,
      1.01, 0.62, 1.04, 0.81, 2.29, 1.22, 0.97, 1.49, 1.06, 0.75, 0.71, 1.04, 1.29, 0.88, 0.54, 1.02, 1.89, 1.03, 1.29, 1.2, 1.08, 1.54,
      0.93, 1.17, 1.55, 0.68, 0.64, 0.72, 0.95, 1.22, 0.88, 1.2, 1.41, 0.96, 1.03, 0.99, 1.77, 1.19, 1.06, 1.45, 0.75, 1.04, 0.84, 0.76,
      1.37, 0.77, 1.57, 0.73, 1.45, 0.88, 1.06, 1.44, 0.97, 0.8, 1.39, 0.99, 1.08, 1.13, 1.53, 1.51, 1, 1.12, 0.96, 0.8, 0.48, 1.06, 0.81,
      0.99, 0.89, 0.87, 1.56, 1.44, 0.86, 1.16, 0.71, 1.19, 0.69, 0.76, 1.16, 0.89, 0.77, 0.8, 0.59, 0.72, 0.69, 0.94, 0.83, 0.97, 0.82,
      0.8, 1.04, 1.24, 0.95, 0.63, 1.3, 1.46, 0.8, 0.9, 0.47, 0.83, 0.7, 2.04, 1.04, 0.83, 1.32, 0.9, 0.62, 0.64, 0.87, 1.2, 0.76, 0.46,
      0.8, 1.87, 0.87, 1.06, 1.13, 0.97,
    ];
    const firstStep = 98;
    /** The step at which the guard calls a blow-up (null if none), and the steps it took a second look at. */
    function guard(losses) {
      const secondLooks = [];
      let floor = Infinity;
      for (let k = 0; k + 1 < losses.length; k++) {
        const nextLoss = () => (secondLooks.push(firstStep + k), losses[k + 1]);
        if (isDivergence(losses[k], floor, nextLoss)) return { divergedAt: firstStep + k, secondLooks };
        floor = nextLossFloor(floor, losses[k]);
      }
      return { divergedAt: null, secondLooks };
    }
    assert.deepEqual(guard(losses), { divergedAt: null, secondLooks: [194, 291, 303] });
    // A blow-up after the first hard batch, whose loss then stays high, is caught at its first step.
    const blowUp = [...losses.slice(0, 150), 3.5, 3.6, 3.8, 4.1];
    assert.deepEqual(guard(blowUp), { divergedAt: 248, secondLooks: [194, 248] });
  });

  test('the tiny model trains through its hard epoch-end batches at a high rate without a rollback', async () => {
    // The run the recorded losses above come from: judged alone, its step 194 was a blow-up four times over.
    const config = { ...TINY_MODEL, lr: 0.05, maxSteps: 300, evalEvery: 300, saveEvery: 300 };
    const tensors = tf.memory().numTensors;
    const rollbacks = [];
    const observer = { onRollback: (step) => rollbacks.push(step) };
    const result = await train({
      corpus: readCorpus(TINY),
      config,
      outDir: path.join(WORK, 'hard-batches'),
      backend: 'wasm',
      threads: 1,
      observer,
    });
    assert.deepEqual(rollbacks, []);
    assert.equal(result.stoppedBy, 'max-steps');
    assert.equal(tf.memory().numTensors, tensors, 'the second looks at steps 194 and 291 keep no tensor');
  });

  test('easy text (abab…) trains on: its loss falls near 0 without being called diverged', async () => {
    const easy = path.join(WORK, 'abab.txt');
    fs.writeFileSync(easy, 'ab'.repeat(2000));
    const r = await cli([
      'train',
      easy,
      '--layers',
      '1',
      '--hidden',
      '8',
      '--seq',
      '10',
      '--batch',
      '4',
      '--lr',
      '0.05',
      '--max-steps',
      '120',
      '--eval-every',
      '120',
      '--threads',
      '1',
      '--backend',
      'wasm',
      '-o',
      'easy',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /diverged/);
  });

  for (const [name, args, code, pattern] of [
    [
      'a corpus of one distinct character',
      ['train', 'one-char.txt', '--hidden', '8', '--layers', '1', '--max-steps', '1', '--backend', 'wasm', '-o', 'one'],
      3,
      /only one distinct character \("a"\)/,
    ],
    [
      '--extend-vocab without --init-from',
      ['train', TINY, '--hidden', '8', '--layers', '1', '--max-steps', '1', '--extend-vocab', '--backend', 'wasm', '-o', 'ev'],
      2,
      /--extend-vocab only applies with --init-from/,
    ],
    [
      '--backend tensorflow without its package',
      ['train', TINY, '--hidden', '8', '--layers', '1', '--max-steps', '1', '--backend', 'tensorflow', '-o', 'tf'],
      2,
      /no usable backend for --backend tensorflow: .*not installed/,
    ],
  ]) {
    test(`${name}: one line, exit ${code}`, async () => {
      fs.writeFileSync(path.join(WORK, 'one-char.txt'), 'a'.repeat(3000));
      assert.match(oneLine(await cli(args), code), pattern);
    });
  }
});

describe('signals', () => {
  test('an interrupt during a long validation abandons it at once and still writes latest/', async () => {
    // A long validation: 45% of the built-in corpus, 4 streams of 8 characters at a time.
    const corpus = readCorpus(new URL('../corpora/default.txt', import.meta.url).pathname);
    const config = { ...TRAIN_DEFAULTS, hidden: 32, layers: 1, seq: 8, batch: 4, valFrac: 0.45, evalEvery: 1, saveEvery: 1000 };
    const interrupt = new AbortController();
    let abortedAt = 0;
    let validations = 0;
    const outDir = path.join(WORK, 'interrupted');
    const observer = {
      onStep: () => setTimeout(() => ((abortedAt = performance.now()), interrupt.abort('SIGTERM')), 100), // validation has started
      onValidation: () => validations++,
    };
    const result = await train({ corpus, config, outDir, backend: 'wasm', threads: 1, observer, signal: interrupt.signal });
    assert.equal(result.stoppedBy, 'interrupted');
    assert.equal(validations, 0, 'the validation was abandoned, not finished');
    assert.ok(performance.now() - abortedAt < 3000, `took ${Math.round(performance.now() - abortedAt)} ms after the signal`);
    assert.ok(fs.existsSync(path.join(outDir, 'latest', 'model.json')));
  });

  test('an interrupt right after a blow-up saves the last good state, not the wrecked weights', async () => {
    const corpus = readCorpus(TINY);
    const config = { ...TRAIN_DEFAULTS, hidden: 16, layers: 1, seq: 8, batch: 4, lr: 1000, maxSteps: 50 };
    const interrupt = new AbortController();
    const rollbacks = [];
    const observer = { onStep: () => interrupt.abort('SIGINT'), onRollback: (step, loss, backTo) => rollbacks.push(backTo) };
    const outDir = path.join(WORK, 'interrupted-blow-up');
    const result = await train({ corpus, config, outDir, backend: 'wasm', threads: 1, observer, signal: interrupt.signal });
    assert.equal(result.stoppedBy, 'interrupted');
    assert.deepEqual(rollbacks, [0]);
    const { model, meta } = loadCheckpoint(path.join(outDir, 'latest'));
    assert.equal(meta.training.step, 0);
    for (const v of model.variables)
      assert.ok(
        v.dataSync().every((x) => Math.abs(x) <= 1),
        `${v.name}: not the initial weights`,
      );
    model.dispose();
  });
});
