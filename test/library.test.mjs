// charrnn as a library, without the CLI: through the package's own exports (a test file
// of this package may import it by name), with the rules the CLI enforces.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TINY_CORPUS, tinyText, workDir } from './helpers.mjs';

const charrnn = await import('charrnn');
await charrnn.selectBackend('wasm');

const SMALL = { layers: 1, hidden: 16, seq: 16, batch: 8, evalEvery: 3, saveEvery: 3 };
const corpus = charrnn.readCorpus(TINY_CORPUS);
const run = workDir('library');

/** Asserts that `promise` rejects with a `type` whose message matches `pattern`. */
async function refused(promise, type, pattern) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof type, `${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('train a few steps, then resume to more', async () => {
  const first = await charrnn.train({ corpus, config: { ...SMALL, maxSteps: 6 }, outDir: run, threads: 1 });
  assert.equal(first.steps, 6);
  assert.equal(first.stoppedBy, 'max-steps');
  assert.equal(charrnn.readCheckpointMeta(first.latestDir).formatVersion, charrnn.FORMAT_VERSION);

  const resumed = await charrnn.resume({ checkpoint: charrnn.loadCheckpoint(run, { resume: true }), changes: { maxSteps: 9 }, threads: 1 });
  assert.equal(resumed.steps, 9);
  const meta = charrnn.readCheckpointMeta(resumed.latestDir);
  assert.equal(meta.training.step, 9);
  assert.equal(meta.training.config.maxSteps, 9);
  assert.equal(meta.training.config.hidden, SMALL.hidden);
});

test('resuming refuses a changed --hidden, as the CLI does, before any tfjs shape error', async () => {
  const checkpoint = charrnn.loadCheckpoint(run, { resume: true });
  await refused(
    charrnn.resume({ checkpoint, changes: { hidden: 32 } }),
    charrnn.UserError,
    /^--hidden cannot change when resuming; .*only --epochs/,
  );
  const other = join(run, 'other.txt');
  writeFileSync(other, tinyText().toUpperCase());
  await refused(
    charrnn.resume({ checkpoint, corpus: charrnn.readCorpus(other) }),
    charrnn.CorpusError,
    /is not the text .* was trained on/,
  );
  checkpoint.model.dispose();
});

test('fine-tuning keeps the model shape and the vocabulary unless told to extend it', async () => {
  const checkpoint = charrnn.loadCheckpoint(run);
  const outDir = workDir('library-tuned');
  await refused(
    charrnn.fineTune({ checkpoint, corpus, config: { hidden: 32 }, outDir }),
    charrnn.UserError,
    /^--hidden 32 does not match .*--init-from keeps its model's shape/,
  );
  const text = join(outDir, 'new.txt');
  writeFileSync(text, `${tinyText()}\nZoë\n`);
  await refused(
    charrnn.fineTune({ checkpoint, corpus: charrnn.readCorpus(text), outDir }),
    charrnn.UserError,
    /characters .* never saw: .*"Z".*--extend-vocab/,
  );
  const tuned = await charrnn.fineTune({
    checkpoint,
    corpus: charrnn.readCorpus(text),
    config: { ...SMALL, maxSteps: 3 },
    extendVocab: true,
    outDir,
    threads: 1,
  });
  assert.equal(tuned.steps, 3);
  assert.deepEqual(charrnn.readCheckpointMeta(tuned.latestDir).vocab.slice(-2).sort(), ['Z', 'ë']);
});

test('a fresh run refuses settings that cannot work', async () => {
  await refused(
    charrnn.train({ corpus, config: { hidden: 0 }, outDir: workDir('library-bad') }),
    charrnn.UserError,
    /^--hidden must be an integer ≥ 1 \(got 0\)$/,
  ); // the flag's own words
});

test('sample and score a checkpoint', async () => {
  const { model, vocab, meta } = charrnn.loadCheckpoint(run);
  try {
    const options = { length: 30, temperature: 0.8, prime: 'The ', seed: 5 };
    const text = [...charrnn.generate(model, vocab, options)].join('');
    assert.ok(text.startsWith('The '));
    assert.equal([...text].length, 34);
    assert.equal([...charrnn.generate(model, vocab, options)].join(''), text, 'the same seed gives the same text');
    // One stream over the whole text scores the predictions surprisal makes one character at a time.
    const sample = tinyText().slice(0, 300);
    const score = await charrnn.evaluate(model, vocab.encode(sample), 1, [...sample].length - 1);
    const bits = charrnn.meanBits(charrnn.surprisal(model, vocab, sample));
    assert.ok(Math.abs(score.bits - bits) < 1e-4, `${score.bits} vs ${bits} bits/char`);

    // What `charrnn eval` scores: the validation split while the corpus is unchanged, and a text without the characters the model never saw.
    const val = charrnn.validationSplit(meta, vocab);
    assert.ok(val.length > 0 && val.length < corpus.text.length / 10);
    const changed = { ...meta, training: { ...meta.training, corpus: { ...meta.training.corpus, fingerprint: '0' } } };
    assert.throws(
      () => charrnn.validationSplit(changed, vocab),
      (err) => err instanceof charrnn.CorpusError && /has changed since training/.test(err.message),
    );
    const { ids, skipped, unknown } = charrnn.scorableIds(vocab, 'The Zoë', 'probe');
    assert.deepEqual([vocab.decode(ids), skipped, unknown.sort()], ['The o', 2, ['Z', 'ë']]);
  } finally {
    model.dispose();
  }
});
