// The scale-out recipe end to end (docs/scale-out.md): charrnn train → export safetensors →
// scale-out/train_ddp.py under torchrun, 2 processes on gloo → import → charrnn eval, held
// to PyTorch's own evaluation of the same weights. Needs /usr/bin/python3 with torch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { readSafetensors } from '../dist/export/safetensors.js';
import { logProbabilities, maxAbsDiff, maxAbsDiff2d, runCli, runProcess, useBackend, workDir } from './helpers.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../scale-out/train_ddp.py', import.meta.url));
const skip =
  spawnSync(PYTHON, ['-c', 'import torch']).status === 0
    ? false
    : `PyTorch not found: ${PYTHON} -c 'import torch' fails (apt-get install python3-torch libopenblas0-openmp)`;

await useBackend('wasm');
const dir = workDir('scale-out');
const cli = (args) => runCli(args, { cwd: dir });
const SHAPE = ['--hidden', '16', '--layers', '2', '--seq', '16', '--batch', '8', '--lr', '0.02', '--backend', 'wasm', '--threads', '1'];

/** A few thousand characters of varied, learnable text, the same every run. */
function writeCorpus(path) {
  const words = 'the a harbour ship sailed into grey morning and light of wind over water stood we they were quiet near old town'.split(
    ' ',
  );
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let text = '';
  while (text.length < 5000) {
    const sentence = Array.from({ length: 4 + Math.floor(next() * 8) }, () => words[Math.floor(next() * words.length)]).join(' ');
    text += `${sentence[0].toUpperCase()}${sentence.slice(1)}.${next() < 0.2 ? '\n' : ' '}`;
  }
  writeFileSync(path, text);
}

/**
 * torchrun on this machine, single node, a free rendezvous port. `--redirects 9:1 --tee 9:1`
 * (a setting for a local rank that does not exist) works around torch 1.13's launcher on
 * Python 3.11, which fails on its own default of 0 (docs/scale-out.md).
 */
async function torchrun(processes, scriptArgs) {
  const launcher = [
    '-m',
    'torch.distributed.run',
    '--nnodes',
    '1',
    '--nproc_per_node',
    String(processes),
    '--rdzv_backend',
    'c10d',
    '--rdzv_endpoint',
    'localhost:0',
    '--monitor_interval',
    '0.2',
    '--redirects',
    '9:1',
    '--tee',
    '9:1',
  ];
  // The launcher's torchelastic_* temporary directories go in `dir`, removed with it.
  const r = await runProcess(PYTHON, [...launcher, SCRIPT, ...scriptArgs], { cwd: dir, env: { ...process.env, TMPDIR: dir } });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** PyTorch's scoring of a safetensors file on `file`: charrnn eval's nats, and log-probabilities of its first `n` characters. */
async function torchScore(weights, file, n) {
  const program = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(SCRIPT, '..'))})
import torch
from train_ddp import CharRNN, evaluate, read_safetensors
tensors, meta = read_safetensors(sys.argv[1])
m, config, vocab = json.loads(meta["model"]), json.loads(meta["training"])["config"], json.loads(meta["vocabulary"])
model = CharRNN(m["cell"], m["vocabSize"], m["hidden"], m["layers"], m["dropout"])
model.load_state_dict(tensors)
model.eval()
index = {ch: k for k, ch in enumerate(vocab)}
ids = torch.tensor([index[ch] for ch in open(sys.argv[2], encoding="utf-8", newline="").read()])
with torch.no_grad():
    logprobs = torch.log_softmax(model(ids[:int(sys.argv[3]), None])[0][:, 0], -1)
print(json.dumps({"nats": evaluate(model, ids, config["batch"], config["seq"]), "logprobs": logprobs.tolist()}))`;
  const r = await runProcess(PYTHON, ['-c', program, weights, file, String(n)], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function evalNats(checkpoint, file) {
  const r = await cli(['eval', checkpoint, file, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).nats;
}

/** Largest difference between two safetensors files' tensors, which must have the same names and shapes. */
function weightDifference(a, b) {
  const [x, y] = [a, b].map((f) => readSafetensors(join(dir, f)).tensors);
  assert.deepEqual(
    x.map((t) => [t.name, t.shape]),
    y.map((t) => [t.name, t.shape]),
  );
  return Math.max(...x.map((t, k) => maxAbsDiff(t.data, y[k].data)));
}

const corpus = join(dir, 'corpus.txt');

test(
  'charrnn → torchrun on 2 processes → charrnn: eval agrees with PyTorch (< 1e-5), the loss fell, 2 processes = 1',
  { skip, timeout: 180_000 },
  async () => {
    writeCorpus(corpus);
    assert.equal((await cli(['train', corpus, '-o', 'start', ...SHAPE, '--max-steps', '10'])).code, 0);
    assert.equal((await cli(['export', 'start', 'start.safetensors', '--format', 'safetensors'])).code, 0);

    const log = await torchrun(2, [
      corpus,
      '--init',
      'start.safetensors',
      '--out',
      'two.safetensors',
      '--steps',
      '30',
      '--log-every',
      '10',
    ]);
    assert.match(log, /done: 30 steps on 2 processes/);
    await torchrun(1, [corpus, '--init', 'start.safetensors', '--out', 'one.safetensors', '--steps', '30']);
    const processes = weightDifference('one.safetensors', 'two.safetensors');
    assert.ok(processes < 1e-4, `2 processes vs 1: max |Δw| = ${processes}`);
    assert.ok(weightDifference('start.safetensors', 'two.safetensors') > 100 * processes, 'training moved the weights far more than that');

    const imported = await cli(['import', 'two.safetensors', '-o', 'imported']);
    assert.equal(imported.code, 0, imported.stderr);
    const ours = await evalNats('imported', corpus);
    const theirs = await torchScore('two.safetensors', corpus, 300);
    assert.ok(Math.abs(ours - theirs.nats) < 1e-5, `charrnn eval ${ours} vs PyTorch ${theirs.nats} nats/char`);
    const text = readFileSync(corpus, 'utf8').slice(0, 300);
    const logprobs = maxAbsDiff2d(logProbabilities(join(dir, 'imported'), text), theirs.logprobs);
    assert.ok(logprobs < 1e-5, `max |Δ log p| = ${logprobs}`);
    const before = await evalNats('start', corpus);
    assert.ok(ours < before - 0.05, `the loss fell: ${before} → ${ours} nats/char`);
    process.stderr.write(
      `scale-out: max |Δ log p| ${logprobs.toExponential(2)}, |Δ nats| ${Math.abs(ours - theirs.nats).toExponential(2)}, 1 vs 2 processes max |Δw| ${processes.toExponential(2)}, loss ${before.toFixed(4)} → ${ours.toFixed(4)}\n`,
    );
  },
);

test(
  "train_ddp.py is charrnn's recipe: 3 steps from the same weights match charrnn train --init-from",
  { skip, timeout: 120_000 },
  async () => {
    assert.equal((await cli(['train', corpus, '--init-from', 'start', '-o', 'tuned', ...SHAPE, '--max-steps', '3'])).code, 0);
    assert.equal((await cli(['export', 'tuned/latest', 'tuned.safetensors', '--format', 'safetensors'])).code, 0);
    await torchrun(1, [corpus, '--init', 'start.safetensors', '--out', 'torch3.safetensors', '--steps', '3']);
    const lr = 0.02;
    // Every step moves most weights by about lr; a different recipe (batching, schedule,
    // clipping, Adam, the bias) would differ by that much. Float noise stays far below.
    const difference = weightDifference('tuned.safetensors', 'torch3.safetensors');
    assert.ok(difference < 0.05 * lr, `max |Δw| = ${difference} after 3 steps of lr ${lr}`);
    assert.ok(
      weightDifference('start.safetensors', 'torch3.safetensors') > 2 * lr,
      'the steps moved the weights by more than two steps of lr',
    );
    process.stderr.write(`scale-out: charrnn vs train_ddp.py after 3 steps: max |Δw| ${difference.toExponential(2)}\n`);
  },
);
