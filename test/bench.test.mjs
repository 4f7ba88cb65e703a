// The benchmark's pure parts: medians, busy detection, reading the peer's JSON, the table.
// Nothing here times anything: `npm run bench` is a benchmark, not a test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { utf8Boundary } from '../dist-bench/corpus.js';
import { BUSY_CORES, isBusy, median, otherCores, parseProcStat, summarise } from '../dist-bench/measure.js';
import { parseBenchArgs, parseConfigs } from '../dist-bench/options.js';
import { parsePeerResult, PEER_SCRIPT, peerArgs, probePeer, pythonJson } from '../dist-bench/peer.js';
import { blasName, busyMeasurements, formatTable, ratio, ratios } from '../dist-bench/report.js';

describe('measurements', () => {
  test('median of odd and even counts, ignoring NaN', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, NaN, 1, 3]), 3);
    assert.ok(Number.isNaN(median([])));
  });

  test("others' cores: machine busy time minus our own, per wall second, never negative", () => {
    const a = { wall: 10, machineBusy: 100, self: 50 };
    assert.equal(otherCores(a, { wall: 12, machineBusy: 103, self: 52 }), 0.5); // 3 busy, 2 ours, over 2 s
    assert.equal(otherCores(a, { wall: 12, machineBusy: 101.9, self: 52 }), 0); // coarse ticks can undercount
    assert.ok(Number.isNaN(otherCores(a, a)));
  });

  test('/proc/stat: user nice system irq softirq steal count as busy; idle and iowait do not', () => {
    const stat = 'cpu  1000 50 200 9000 300 10 20 30 0 0\ncpu0 500 25 100 4500 150 5 10 15 0 0\n';
    assert.equal(parseProcStat(stat), (1000 + 50 + 200 + 10 + 20 + 30) / 100);
    assert.ok(Number.isNaN(parseProcStat('intr 1 2 3')));
  });

  test('a window is busy above the threshold; the summary keeps a quiet median apart', () => {
    assert.equal(BUSY_CORES, 0.2);
    assert.equal(isBusy({ work: 1, seconds: 1, otherCores: 0.2 }), false);
    assert.equal(isBusy({ work: 1, seconds: 1, otherCores: 0.21 }), true);
    assert.equal(isBusy({ work: 1, seconds: 1, otherCores: NaN }), false);
    const s = summarise([
      { work: 100, seconds: 1, otherCores: 0.0 },
      { work: 300, seconds: 1, otherCores: 0.05 },
      { work: 50, seconds: 1, otherCores: 1.1 },
      { work: 200, seconds: 2, otherCores: 0.1 },
    ]);
    assert.equal(s.perSecond, 100); // rates 100, 300, 50, 100
    assert.equal(s.quietPerSecond, 100); // 100, 300, 100
    assert.deepEqual([s.windows, s.busyWindows, s.busy, s.maxOtherCores], [4, 1, true, 1.1]);
    assert.equal(summarise([{ work: 1, seconds: 1, otherCores: 0.9 }]).quietPerSecond, null);
  });
});

// Shaped like torch_charrnn.py's output with --skip-eval (NaN where it has no figure).
const PEER_LINE =
  '{"impl": "pytorch-eager", "torch": "1.13.0a0", "seq": 50, "batch": 50, "threads": 2, "steps": 120, ' +
  '"train_chars_per_sec": 41000.0, "quiet_train_chars_per_sec": NaN, "train_gflops": 60.5, "val_nats": NaN, ' +
  '"sample_chars": 2000, "sample_seconds_all": [0.4, 0.5, 0.25], "sample_chars_per_sec": 5000.0, "peak_rss_mb": 387.7, ' +
  '"other_load_cores_train": 0.3, "other_load_cores_sample": 0.01, "omp_wait_policy": null, ' +
  '"train_intervals": [{"t": 2.0, "steps": 10, "secs": 1.5, "other_load": 0.0}, {"t": 10.0, "steps": 160, "secs": 8.0, "other_load": 0.01}, ' +
  '{"t": 18.0, "steps": 40, "secs": 8.0, "other_load": 0.9}, {"t": 26.0, "steps": 170, "secs": 8.0, "other_load": 0.02}], ' +
  '"sample_head": "NaN Infinity \\"quoted\\" NaN"}';

describe('the peer', () => {
  test('without its script (it is not in the repository), the bench says how to give one, or to skip it', async () => {
    assert.equal(parseBenchArgs([]).peerScript, PEER_SCRIPT);
    const script = parseBenchArgs(['--peer-script', '/nowhere/torch_charrnn.py']).peerScript;
    assert.equal(peerArgs(parseConfigs('2x128')[0], parseBenchArgs([]).timing, 'c.txt', 'p.json', script)[0], script);
    const probe = await probePeer('/usr/bin/python3', script);
    assert.equal(probe.ok, false);
    assert.match(probe.error, /^no peer script at \/nowhere\/torch_charrnn\.py; pass --peer-script <.*>, or --no-peer$/);
  });

  test("Python's NaN and Infinity become null, but not inside strings", () => {
    assert.equal(
      pythonJson('{"a": NaN, "b": -Infinity, "c": [Infinity], "d": "NaN \\" NaN"}'),
      '{"a": null, "b": null, "c": [null], "d": "NaN \\" NaN"}',
    );
  });

  test('its log intervals after the warm-up are the training windows; its repeats the sampling windows', () => {
    const p = parsePeerResult(`progress line\n${PEER_LINE}\n`, { warmupSeconds: 2, windowSeconds: 8 });
    assert.equal(p.train.windows.length, 3); // the interval from 0.5 s to 2 s is within the warm-up, and short
    assert.equal(parsePeerResult(PEER_LINE, { warmupSeconds: 0, windowSeconds: 8 }).train.windows.length, 3); // short
    assert.equal(parsePeerResult(PEER_LINE).train.windows.length, 4);
    assert.equal(p.train.summary.perSecond, (160 * 2500) / 8);
    assert.equal(p.train.summary.busyWindows, 1);
    assert.equal(p.train.reportedCharsPerSec, 41000);
    assert.equal(p.sample.summary.perSecond, 2000 / 0.4);
    assert.equal(p.sample.summary.busy, false);
    assert.equal(p.peakRssMb, 387.7);
  });

  test('without intervals its overall figure is the one window; a missing field is an error', () => {
    const p = parsePeerResult(PEER_LINE.replace(/"train_intervals": \[.*?\], "sample_head"/, '"train_intervals": [], "sample_head"'));
    assert.equal(p.train.summary.perSecond, 41000);
    assert.equal(p.train.summary.busy, true); // other_load_cores_train 0.3
    assert.throws(() => parsePeerResult('{"seq": 50}'), /batch, peak_rss_mb/);
  });

  test('arguments: the same shape and corpus, 2 threads, one log interval per window', () => {
    const timing = {
      warmupSteps: 3,
      warmupSeconds: 3,
      trainSeconds: 40,
      trainWindows: 5,
      sampleWindows: 3,
      sampleWindowSeconds: 3,
      peerSampleChars: 2000,
    };
    const args = peerArgs(parseConfigs('2x256')[0], timing, '/tmp/c.txt', '/tmp/p.json');
    const flag = (name) => args[args.indexOf(name) + 1];
    assert.deepEqual([flag('--layers'), flag('--hidden'), flag('--seq'), flag('--batch')], ['2', '256', '100', '64']);
    assert.deepEqual(
      [flag('--corpus'), flag('--threads'), flag('--log-every'), flag('--json-out')],
      ['/tmp/c.txt', '2', '8', '/tmp/p.json'],
    );
    assert.ok(Number(flag('--seconds')) >= 48);
    assert.ok(args.includes('--skip-eval'));
  });

  test('which BLAS: OpenBLAS by its own library', () => {
    const libs = [
      '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3',
      '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so',
    ];
    assert.equal(blasName(libs), 'openblas-openmp/libopenblasp-r0.3.21.so');
    assert.equal(blasName(['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3']), 'blas/libblas.so.3');
    assert.equal(blasName([]), 'no BLAS library found');
  });
});

describe('options', () => {
  test('configurations by name; an unknown one is refused', () => {
    assert.deepEqual(
      parseConfigs('2x128,3×512').map((c) => [c.layers, c.hidden, c.seq, c.batch]),
      [
        [2, 128, 50, 50],
        [3, 512, 100, 32],
      ],
    );
    assert.throws(() => parseConfigs('4x4'), /unknown configuration '4x4'/);
  });

  test('defaults, --quick and flags', () => {
    const full = parseBenchArgs([]);
    assert.deepEqual(
      full.configs.map((c) => c.name),
      ['2x128', '2x256', '3x512'],
    );
    assert.equal(full.peer, true);
    assert.equal(full.backend, 'auto');
    assert.equal(full.timing.trainSeconds, 40);
    const quick = parseBenchArgs(['--quick', '--no-peer', '--backend', 'wasm']);
    assert.deepEqual(
      quick.configs.map((c) => c.name),
      ['2x128', '2x256'],
    );
    assert.deepEqual([quick.peer, quick.backend, quick.timing.trainSeconds], [false, 'wasm', 2]);
    assert.equal(parseBenchArgs(['--seconds', '10', '--corpus', 'x.txt']).corpus, 'x.txt');
    assert.throws(() => parseBenchArgs(['--seconds', '0']), /--seconds must be positive/);
  });
});

describe('the report', () => {
  test('a UTF-8 cut never splits a character', () => {
    const bytes = Buffer.from('aé€😀', 'utf8'); // 1 + 2 + 3 + 4 bytes
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 10, 20].map((n) => utf8Boundary(bytes, n)),
      [0, 1, 1, 3, 3, 3, 6, 6, 10, 10],
    );
  });

  test('table columns are padded, numbers right-aligned, counting characters not bytes', () => {
    const table = formatTable(
      [
        ['config', 'ours', 'note'],
        ['2×128', '15,209', 'x'],
        ['3×512', '9', ''],
      ],
      ['l', 'r', 'l'],
    );
    assert.equal(table, 'config    ours  note\n2×128   15,209  x\n3×512        9');
  });

  test('ratios need both figures; busy measurements are listed', () => {
    assert.equal(ratio(10, 40), 0.25);
    assert.equal(ratio(10, undefined), null);
    assert.equal(ratio(10, NaN), null);
    const quiet = {
      perSecond: 100,
      quietPerSecond: 100,
      windows: 3,
      busyWindows: 0,
      maxOtherCores: 0.01,
      medianOtherCores: 0,
      busy: false,
    };
    const busy = { ...quiet, busyWindows: 2, maxOtherCores: 0.95, busy: true };
    const ours = {
      train: { summary: quiet, windows: [] },
      sample: { 1: { summary: quiet, windows: [] }, 16: { summary: busy, windows: [] } },
      cliSample: { chars: 2000, runs: 3, withStart: 60, fromFirstByte: 75 },
      peakRssMb: 300,
    };
    const peer = {
      train: { summary: { ...quiet, perSecond: 400 }, windows: [] },
      sample: { summary: { ...quiet, perSecond: 50 }, windows: [] },
      peakRssMb: 400,
    };
    const outcome = { config: parseConfigs('2x128')[0], ours, peer };
    assert.deepEqual(ratios(outcome), { train: 0.25, sampleBatch1: 2, sampleCli: 1.5, peakRss: 0.75 });
    assert.deepEqual(ratios({ ...outcome, peer: { error: 'no torch' } }), {
      train: null,
      sampleBatch1: null,
      sampleCli: null,
      peakRss: null,
    });
    assert.deepEqual(busyMeasurements([outcome]), ['2x128 ours sample b16: 2/3 windows, up to 0.95 cores']);
  });
});
