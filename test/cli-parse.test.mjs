// Argument lists → the typed options each command function receives, or the one line a
// mistake prints: parsed by the real commander program, in this process, with the command
// functions replaced by recorders. Also: the library refuses exactly what the flags refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, reportError } from '../dist/cli/main.js';
import { trainCommand } from '../dist/cli/train.js';
import { TRAIN_DEFAULTS, TRAIN_OPTIONS, validateTrainConfig } from '../dist/training/config.js';
import { SAMPLE_OPTIONS, validateSampleSettings } from '../dist/sampling/options.js';

/** Parses `args` as `charrnn args…`: the command called, its positional values and options; or the exit code and stderr. */
async function parse(args) {
  const calls = [];
  const record =
    (command) =>
    async (...values) =>
      calls.push({ command, args: values.slice(0, -1), options: values.at(-1) });
  const run = Object.fromEntries(['train', 'sample', 'eval', 'info', 'plot', 'export', 'import'].map((name) => [name, record(name)]));
  let stdout = '';
  let stderr = '';
  const program = buildProgram(run, { writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text) });
  try {
    await program.parseAsync(['node', 'charrnn', ...args]);
    return { call: calls[0], code: 0, stdout, stderr };
  } catch (err) {
    return { call: calls[0], code: reportError(err, (text) => (stderr += text)), stdout, stderr };
  }
}

const TRAIN_NOTHING_GIVEN = {
  out: undefined,
  force: false,
  resume: undefined,
  initFrom: undefined,
  extendVocab: false,
  ...Object.fromEntries(Object.keys(TRAIN_DEFAULTS).map((key) => [key, undefined])),
  encoding: 'utf8',
  threads: undefined,
  backend: 'auto',
};
const SAMPLE_DEFAULTS = {
  length: 500,
  temperature: [1],
  argmax: false,
  topK: null,
  topP: null,
  stop: [],
  numSamples: 1,
  prime: '',
  seed: undefined,
  json: false,
  interactive: false,
  threads: undefined,
  backend: 'auto',
};

const parsed = [
  // A train flag left out stays undefined: the library applies the default, and --resume keeps the checkpoint's.
  [['train'], 'train', [[]], TRAIN_NOTHING_GIVEN],
  [['train', 'a.txt', 'letters/', '--max-steps', '1'], 'train', [['a.txt', 'letters/']], { ...TRAIN_NOTHING_GIVEN, maxSteps: 1 }],
  [
    [
      'train',
      'in.txt',
      '-o',
      'runs/a',
      '--max-time',
      '5m',
      '--layers',
      '3',
      '--cell',
      'gru',
      '--learned-init',
      '--dropout',
      '0.25',
      '--seed',
      '-7',
      '--threads',
      '2',
    ],
    'train',
    [['in.txt']],
    {
      ...TRAIN_NOTHING_GIVEN,
      out: 'runs/a',
      maxSeconds: 300,
      layers: 3,
      cell: 'gru',
      learnedInit: true,
      dropout: 0.25,
      seed: -7,
      threads: 2,
    },
  ],
  [
    ['train', '--resume', 'runs/a', '--max-steps', '10', '--backend', 'wasm'],
    'train',
    [[]],
    { ...TRAIN_NOTHING_GIVEN, resume: 'runs/a', maxSteps: 10, backend: 'wasm' },
  ],
  [
    ['train', '--init-from', 'runs/a', '--extend-vocab', '--encoding', 'latin1', '--max-time', '1.5h'],
    'train',
    [[]],
    { ...TRAIN_NOTHING_GIVEN, initFrom: 'runs/a', extendVocab: true, encoding: 'latin1', maxSeconds: 5400 },
  ],
  [['sample', 'ck'], 'sample', ['ck'], SAMPLE_DEFAULTS],
  [
    [
      'sample',
      'ck',
      '-t',
      '0.5, 1',
      '-n',
      '0',
      '--top-k',
      '5',
      '--top-p',
      '0.9',
      '--stop',
      '\\n\\n',
      '--stop',
      'end',
      '--prime',
      'The ',
      '--seed',
      '7',
      '--num-samples',
      '3',
      '--json',
      '--threads',
      '2',
    ],
    'sample',
    ['ck'],
    {
      ...SAMPLE_DEFAULTS,
      temperature: [0.5, 1],
      length: 0,
      topK: 5,
      topP: 0.9,
      stop: ['\n\n', 'end'],
      prime: 'The ',
      seed: 7,
      numSamples: 3,
      json: true,
      threads: 2,
    },
  ],
  [['sample', 'ck', '--argmax', '-i'], 'sample', ['ck'], { ...SAMPLE_DEFAULTS, argmax: true, interactive: true }],
  [
    ['eval', 'ck'],
    'eval',
    ['ck', undefined],
    { json: false, heatmap: false, html: undefined, limit: 2000, encoding: 'utf8', backend: 'auto' },
  ],
  [
    ['eval', 'ck', 'a.txt', '--html', 'h.html', '--limit', '2'],
    'eval',
    ['ck', 'a.txt'],
    { json: false, heatmap: false, html: 'h.html', limit: 2, encoding: 'utf8', backend: 'auto' },
  ],
  [['info', 'ck', '--json'], 'info', ['ck'], { json: true }],
  [['plot', 'run', '--svg', 'a.svg'], 'plot', ['run'], { svg: 'a.svg', png: undefined }],
  [['export', 'ck', 'web', '--force'], 'export', ['ck', 'web'], { format: 'tfjs', force: true }],
  [
    ['export', 'ck', 'm.safetensors', '--format', 'safetensors'],
    'export',
    ['ck', 'm.safetensors'],
    { format: 'safetensors', force: false },
  ],
  [['import', 'm.safetensors', '-o', 'ck'], 'import', ['m.safetensors'], { out: 'ck', force: false }],
];

for (const [args, command, positional, options] of parsed) {
  test(`charrnn ${args.join(' ')}`, async () => {
    const r = await parse(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.call, { command, args: positional, options });
  });
}

/** [arguments, the one line on stderr (a string: exactly; a RegExp: matching)], all exit 2. */
const refused = [
  [['train', '--layers', '0'], "charrnn: --layers must be an integer ≥ 1 (got '0')"],
  [['train', '--hidden', '-3'], "charrnn: --hidden must be an integer ≥ 1 (got '-3')"],
  [['train', '--hidden', '2.5'], "charrnn: --hidden must be an integer ≥ 1 (got '2.5')"],
  [['train', '--lr', 'abc'], "charrnn: --lr must be positive (got 'abc')"],
  [['train', '--lr', ''], "charrnn: --lr must be positive (got '')"],
  [['train', '--dropout', '1.5'], "charrnn: --dropout must be in [0, 1) (got '1.5')"],
  [['train', '--val-frac', '0.5'], "charrnn: --val-frac must be in (0, 0.5) (got '0.5')"],
  [['train', '--lr-decay', '0'], "charrnn: --lr-decay must be in (0, 1] (got '0')"],
  [['train', '--max-time', '5x'], "charrnn: --max-time must be a duration such as 90s, 5m or 1h (got '5x')"],
  [['train', '--max-time', '0'], "charrnn: --max-time must be a duration such as 90s, 5m or 1h (got '0')"],
  [['train', '--seed', '1.5'], "charrnn: --seed must be an integer ≥ -2147483648 (got '1.5')"],
  [['train', '--cell', 'lstm2'], "charrnn: --cell must be one of lstm, gru, rnn (got 'lstm2')"],
  [['train', '--backend', 'gpu'], "charrnn: --backend must be one of auto, tensorflow, wasm, cpu (got 'gpu')"],
  [['train', '--encoding', 'utf16'], "charrnn: --encoding must be one of utf8, latin1 (got 'utf16')"],
  [['train', '--bogus'], "charrnn: unknown option '--bogus'"],
  [['train', '--layers'], "charrnn: option '--layers <n>' argument missing"],
  [['sample'], "charrnn: missing required argument 'checkpoint'"],
  [['sample', 'ck', '--temperature', '-1'], "charrnn: --temperature must be a number ≥ 0, or a comma-separated list of them (got '-1')"],
  [['sample', 'ck', '-t', '0.5,,1'], "charrnn: --temperature must be a number ≥ 0, or a comma-separated list of them (got '0.5,,1')"],
  [['sample', 'ck', '--top-k', '0'], "charrnn: --top-k must be an integer ≥ 1 (got '0')"],
  [['sample', 'ck', '--top-p', '1.1'], "charrnn: --top-p must be in (0, 1] (got '1.1')"],
  [['sample', 'ck', '-n', '-1'], "charrnn: --length must be an integer ≥ 0 (got '-1')"],
  [['sample', 'ck', '--threads', '0'], "charrnn: --threads must be an integer ≥ 1 (got '0')"],
  [['sample', 'ck', '--stop', ''], 'charrnn: --stop must not be empty'],
  [['sample', 'ck', '--stop', 'a\\q'], "charrnn: --stop: unknown escape '\\q' in 'a\\q' (use \\n, \\r, \\t or \\\\)"],
  [['eval', 'ck', '--limit', '1'], "charrnn: --limit must be an integer ≥ 2 (got '1')"],
  [['export', 'ck', 'out', '--format', 'onnx'], "charrnn: --format must be one of tfjs, safetensors (got 'onnx')"],
  [['import', 'm.safetensors'], "charrnn: required option '-o, --out <dir>' not specified"],
  [
    ['completion', 'powershell'],
    "charrnn: command-argument value 'powershell' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.",
  ],
  [['nonsense'], /^charrnn: unknown command 'nonsense'/],
];

for (const [args, line] of refused) {
  test(`charrnn ${args.join(' ')} is refused in one line`, async () => {
    const r = await parse(args);
    assert.equal(r.code, 2);
    assert.equal(r.call, undefined, 'no command ran');
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    if (line instanceof RegExp) assert.match(lines[0], line);
    else assert.equal(lines[0], line);
  });
}

test('--help and --version exit 0 with text on stdout', async () => {
  const help = await parse(['train', '--help']);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^Model:\n {2}--cell <type> +recurrent cell; rnn is a vanilla tanh RNN \(choices:\s+lstm, gru, rnn; default: lstm\)$/m,
  );
  assert.match(help.stdout, /--max-time <duration> +stop after this long/);
  assert.match((await parse(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
});

// The library checks values against the same table the flags are parsed with, so the two cannot disagree.
const CANDIDATES = ['-1', '0', '0.3', '0.5', '1', '1.5', '2', '100', 'x', '30m'];
for (const [table, validate, base, command] of [
  [TRAIN_OPTIONS, (key, value) => validateTrainConfig({ ...TRAIN_DEFAULTS, [key]: value }), [], 'train'],
  [SAMPLE_OPTIONS, (key, value) => validateSampleSettings({ [key]: value }), ['ck'], 'sample'],
]) {
  test(`${command}: the flags accept exactly the values the library accepts`, async () => {
    for (const [key, spec] of Object.entries(table)) {
      if (!spec.parse || spec.choices || key === 'maxSeconds' || key === 'stop' || key === 'prime') continue; // text, and values that are not numbers as typed
      for (const text of CANDIDATES) {
        const r = await parse([command, ...base, spec.flag, text]);
        const value = Number(text);
        let libraryAccepts = true;
        try {
          validate(key, value);
        } catch (err) {
          assert.match(err.message, new RegExp(`^${spec.flag} must be `));
          libraryAccepts = false;
        }
        assert.equal(r.code === 0, libraryAccepts, `${spec.flag} ${text}: ${r.stderr}`);
        if (r.code === 0) assert.equal(command === 'sample' && key === 'temperature' ? r.call.options[key][0] : r.call.options[key], value);
      }
    }
  });
}

test('a resumed run names the flags that may change by their real names', async () => {
  const resumed = trainCommand(undefined, { ...TRAIN_NOTHING_GIVEN, resume: 'nowhere', hidden: 64 });
  await assert.rejects(resumed, {
    message:
      '--hidden cannot change when resuming; a resumed run keeps its settings (only --epochs, --max-steps, --max-time, --patience, --eval-every, --save-every may)',
  });
});
