// Two runs, one directory: a run directory is claimed with a lock that names its holder,
// and nothing that belongs to another run or to the user is overwritten without --force.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { claimNewRunDirectory, claimRunDirectory, LOCK_FILE } from '../dist/checkpoint/run-directory.js';
import * as library from '../dist/index.js';
import { runCli, useBackend, workDir, TINY_CORPUS as TINY } from './helpers.mjs';

const WORK = workDir('rundir');
const ONE_STEP = ['--hidden', '8', '--layers', '1', '--seq', '4', '--batch', '2', '--max-steps', '1', '--backend', 'wasm'];
const cli = (args, cwd = WORK) => runCli(args, { cwd });
const show = (r) => `charrnn ${r.args.join(' ')}\nexit ${r.code}\n--- stderr\n${r.stderr}`;
const errorLine = (r) => r.stderr.split('\n').find((l) => l.startsWith('charrnn:')) ?? '';

let count = 0;
const fresh = (name) => path.join(WORK, `${name}-${count++}`);

/** A process that stays alive while the tests run: its pid is a live holder on this host. */
const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000)'], { stdio: 'ignore' });
after(() => sleeper.kill());
const deadPid = (() => {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', () => resolve(child.pid)));
})();

function writeLock(dir, holder) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, LOCK_FILE),
    typeof holder === 'string' ? holder : JSON.stringify({ started: '2026-01-01T00:00:00.000Z', command: 'charrnn train x', ...holder }),
  );
}

// A finished one-step run to resume and export from; copied per test.
const RUN = path.join(WORK, 'run');
const trained = await cli(['train', TINY, '-o', RUN, ...ONE_STEP, '--max-steps', '2', '--save-every', '1']);
assert.equal(trained.code, 0, show(trained));
const TORCH_FILE = path.join(WORK, 'run.safetensors');
const exported = await cli(['export', RUN, TORCH_FILE, '--format', 'safetensors']);
assert.equal(exported.code, 0, show(exported));
const copyRun = (name) => {
  const dir = fresh(name);
  fs.cpSync(RUN, dir, { recursive: true });
  return dir;
};
const metricSteps = (dir) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).step);

describe('claiming a run directory (library)', () => {
  const cases = [
    { name: 'no lock', lock: null, claimed: true },
    {
      name: 'a live process on this host',
      lock: () => ({ pid: sleeper.pid, host: hostname() }),
      claimed: false,
      mentions: () => [`pid ${sleeper.pid}`, 'in use'],
    },
    { name: 'a dead process on this host', lock: async () => ({ pid: await deadPid, host: hostname() }), claimed: true, tookOver: true },
    {
      name: 'a process on another host',
      lock: () => ({ pid: 1, host: 'elsewhere.example' }),
      claimed: false,
      mentions: () => ['elsewhere.example', 'in use'],
    },
    { name: 'an unreadable lock', lock: () => 'not json', claimed: false, mentions: () => ['cannot be read', LOCK_FILE] },
  ];
  for (const c of cases) {
    test(`a lock held by ${c.name}: ${c.claimed ? 'claimed' : 'refused'}`, async () => {
      const dir = fresh('claim');
      if (c.lock) writeLock(dir, await c.lock());
      if (!c.claimed) {
        assert.throws(
          () => claimRunDirectory(dir, 'test'),
          (err) => err.exitCode === 6 && c.mentions().every((m) => err.message.includes(m)),
        );
        assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)), 'the holder keeps its lock');
        return;
      }
      const run = claimRunDirectory(dir, 'charrnn test');
      const holder = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
      assert.deepEqual([holder.pid, holder.host, holder.command], [process.pid, hostname(), 'charrnn test']);
      assert.equal(run.tookOverFrom !== null, c.tookOver ?? false);
      assert.throws(() => claimRunDirectory(dir, 'again'), /in use/, 'a second claim, even from this process, is refused');
      run.release();
      assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'released');
    });
  }

  test('release leaves a lock that is no longer ours, and removes a directory it created that stayed empty', () => {
    const dir = fresh('release');
    const run = claimRunDirectory(dir, 'test');
    writeLock(dir, { pid: sleeper.pid, host: hostname() }); // someone else's now
    run.release();
    assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
    const empty = fresh('empty');
    claimRunDirectory(empty, 'test').release();
    assert.ok(!fs.existsSync(empty));
  });

  test('a directory inside one a live run holds is refused, and so is one whose best/ a live process holds; inside a stale run, claimed', async () => {
    const live = { pid: sleeper.pid, host: hostname() };
    const outer = fresh('outer');
    writeLock(outer, live);
    for (const inside of [path.join(outer, 'best'), path.join(outer, 'a', 'b')]) {
      for (const claim of [claimRunDirectory, claimNewRunDirectory])
        assert.throws(
          () => claim(inside, 'test'),
          (err) => err.exitCode === 6 && err.message.includes(`inside ${outer}, which is in use by another run: pid ${sleeper.pid}`),
        );
      assert.ok(!fs.existsSync(inside), 'nothing created');
    }
    const around = fresh('around');
    writeLock(path.join(around, 'best'), live);
    assert.throws(
      () => claimRunDirectory(around, 'test'),
      (err) => err.exitCode === 6 && err.message.includes(`${path.join(around, 'best')} is in use by another run`),
    );
    const stale = fresh('stale-outer');
    writeLock(stale, { pid: await deadPid, host: hostname() });
    claimRunDirectory(path.join(stale, 'inner'), 'test').release();
  });

  test('new run directories are numbered against every directory that exists, not only runs', () => {
    const base = fresh('numbered');
    fs.mkdirSync(base); // empty: no checkpoints yet, but taken
    const claims = [claimNewRunDirectory(base, 'a'), claimNewRunDirectory(base, 'b'), claimNewRunDirectory(base, 'c')];
    assert.deepEqual(
      claims.map((c) => path.basename(c.dir)),
      ['-2', '-3', '-4'].map((n) => path.basename(base) + n),
    );
    for (const c of claims) c.release();
  });

  test('a file where best/ should be, or on the way to the directory, is refused with exit 6', () => {
    const dir = fresh('file-best');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'best'), '');
    assert.throws(
      () => claimRunDirectory(dir, 'test'),
      (err) => err.exitCode === 6 && err.message.includes(path.join(dir, 'best')),
    );
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'no lock left behind');
    assert.throws(
      () => claimRunDirectory(path.join(dir, 'best', 'run'), 'test'),
      (err) => err.exitCode === 6 && /is a file/.test(err.message),
    );
  });
});

describe("the library's train, resume and fineTune hold the run directory's lock", () => {
  const SMALL = { hidden: 8, layers: 1, seq: 4, batch: 2, maxSteps: 1 };
  const corpus = library.readCorpus(TINY);
  before(() => useBackend('wasm'));
  const writers = {
    train: (outDir) => library.train({ corpus, config: SMALL, outDir, threads: 1 }),
    resume: (outDir) =>
      library.resume({ checkpoint: library.loadCheckpoint(outDir, { resume: true }), changes: { maxSteps: 3 }, threads: 1 }),
    fineTune: (outDir) => library.fineTune({ checkpoint: library.loadCheckpoint(RUN), corpus, config: SMALL, outDir, threads: 1 }),
  };
  for (const [name, write] of Object.entries(writers)) {
    test(`${name} into a directory a live run holds: OutputError (exit 6), and nothing there changes`, async () => {
      const dir = copyRun(name);
      writeLock(dir, { pid: sleeper.pid, host: hostname() });
      const before = snapshot(dir);
      await assert.rejects(write(dir), (err) => {
        assert.ok(err instanceof library.OutputError, `${err.name}: ${err.message}`);
        assert.equal(err.exitCode, 6);
        assert.match(err.message, new RegExp(`in use by another run: pid ${sleeper.pid}`));
        return true;
      });
      assert.deepEqual(snapshot(dir), before);
    });
  }

  test('a second train into the directory while the first runs is refused; the lock names this process and goes at the end', async () => {
    const dir = fresh('library');
    let second;
    let holder;
    const first = await library.train({
      corpus,
      config: SMALL,
      outDir: dir,
      threads: 1,
      observer: {
        onStart: () => {
          holder = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
          second = writers.train(dir).then(
            () => assert.fail('the second train ran'),
            (err) => err,
          );
        },
      },
    });
    assert.equal(first.steps, 1);
    assert.equal(holder.pid, process.pid);
    assert.match(holder.command, /^train\(\)/);
    const refusal = await second;
    assert.ok(refusal instanceof library.OutputError && /in use/.test(refusal.message), String(refusal));
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'released');
  });
});

describe('nothing of another run or the user is overwritten (CLI)', { concurrency: 2 }, () => {
  test('two runs on the same corpus started together get different directories', async () => {
    const cwd = fresh('together');
    fs.mkdirSync(cwd);
    fs.copyFileSync(TINY, path.join(cwd, 'story.txt'));
    const runs = await Promise.all([0, 1].map(() => cli(['train', 'story.txt', ...ONE_STEP], cwd)));
    for (const r of runs) assert.equal(r.code, 0, show(r));
    const dirs = runs.map((r) => /checkpoints in (\S+)/.exec(r.stderr)[1]).sort();
    assert.deepEqual(dirs, ['checkpoints/story', 'checkpoints/story-2']);
    for (const d of dirs) assert.ok(fs.existsSync(path.join(cwd, d, 'latest', 'model.json')), `${d} holds its own run`);
  });

  const cases = [
    {
      name: '-o into a directory a live run holds',
      setup: (dir) => writeLock(dir, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['train', TINY, '-o', dir, ...ONE_STEP],
      code: 6,
      mentions: () => [`pid ${sleeper.pid}`],
    },
    {
      name: '-o --force into a directory a live run holds',
      setup: (dir) => writeLock(dir, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['train', TINY, '-o', dir, ...ONE_STEP, '--force'],
      code: 6,
      mentions: () => [`pid ${sleeper.pid}`],
    },
    {
      name: '--resume of a run a live process holds',
      copy: true,
      setup: (dir) => writeLock(dir, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['train', '--resume', dir, '--max-steps', '3'],
      code: 6,
      mentions: () => [`pid ${sleeper.pid}`],
    },
    {
      name: 'import -o into a directory a live run holds',
      setup: (dir) => writeLock(dir, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['import', TORCH_FILE, '-o', dir, '--force'],
      code: 6,
      mentions: () => [`pid ${sleeper.pid}`],
    },
    {
      name: 'import -o into best/ of a directory a live run holds',
      copy: true,
      sub: 'best',
      setup: (_, root) => writeLock(root, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['import', TORCH_FILE, '-o', dir, '--force'],
      code: 6,
      mentions: (root) => [`inside ${root}, which is in use`, `pid ${sleeper.pid}`],
    },
    {
      name: 'train -o into a directory inside one a live run holds',
      sub: 'nested',
      setup: (_, root) => writeLock(root, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['train', TINY, '-o', dir, ...ONE_STEP],
      code: 6,
      mentions: (root) => [`inside ${root}, which is in use`],
    },
    {
      name: 'train -o into a directory whose best/ a live import holds',
      copy: true,
      setup: (dir) => writeLock(path.join(dir, 'best'), { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['train', TINY, '-o', dir, ...ONE_STEP, '--force'],
      code: 6,
      mentions: (root) => [`${path.join(root, 'best')} is in use`],
    },
    {
      name: 'export into a directory inside one a live run holds',
      copy: true,
      sub: 'web',
      setup: (_, root) => writeLock(root, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['export', RUN, dir],
      code: 6,
      mentions: (root) => [`inside ${root}, which is in use`],
    },
    {
      name: 'export --format safetensors into a directory a live run holds',
      copy: true,
      setup: (dir) => writeLock(dir, { pid: sleeper.pid, host: hostname() }),
      args: (dir) => ['export', RUN, path.join(dir, 'model.safetensors'), '--format', 'safetensors'],
      code: 6,
      mentions: (root) => [`inside ${root}, which is in use`],
    },
    {
      name: '--resume A -o B where B holds another run',
      copy: true,
      args: (dir) => ['train', '--resume', RUN, '-o', dir, '--max-steps', '3'],
      code: 2,
      mentions: () => ['--force'],
    },
    {
      name: 'a fresh -o into a directory holding only a metrics.jsonl',
      setup: (dir) => {
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"step":1}\n');
      },
      args: (dir) => ['train', TINY, '-o', dir, ...ONE_STEP],
      code: 2,
      mentions: () => ['--force'],
    },
    {
      name: "export into a directory with the user's index.html",
      setup: (dir) => {
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'index.html'), 'mine');
      },
      args: (dir) => ['export', RUN, dir],
      code: 2,
      mentions: () => ['index.html', '--force'],
    },
    {
      name: "export into a directory with the user's vocab.json",
      setup: (dir) => {
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'vocab.json'), 'mine');
      },
      args: (dir) => ['export', RUN, dir],
      code: 2,
      mentions: () => ['vocab.json'],
    },
    {
      name: 'export --force into a run directory',
      copy: true,
      args: (dir) => ['export', RUN, dir, '--force'],
      code: 2,
      mentions: () => ['run directory'],
    },
    {
      name: 'export --force into a checkpoint directory',
      copy: true,
      sub: 'best',
      args: (dir) => ['export', RUN, dir, '--force'],
      code: 2,
      mentions: () => ['checkpoint directory'],
    },
  ];
  for (const c of cases) {
    test(`refused: ${c.name} (exit ${c.code}), and nothing there changes`, async () => {
      const root = c.copy ? copyRun('target') : fresh('target');
      const dir = c.sub ? path.join(root, c.sub) : root;
      c.setup?.(dir, root);
      const before = snapshot(root);
      const r = await cli(c.args(dir));
      assert.equal(r.code, c.code, show(r));
      const line = errorLine(r);
      for (const m of c.mentions(root)) assert.ok(line.includes(m), `error line should mention ${m}:\n${show(r)}`);
      assert.ok(!/step \d/.test(r.stderr), 'refused before the first step');
      assert.deepEqual(snapshot(root), before);
    });
  }

  test('a stale lock is taken over, said in one line, and released at the end', async () => {
    const dir = copyRun('stale');
    writeLock(dir, { pid: await deadPid, host: hostname() });
    const r = await cli(['train', '--resume', dir, '--max-steps', '3']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr.match(/took over the lock/g)?.length, 1, show(r));
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  });

  test("--resume A -o B --force continues A's metrics in B without B's own lines", async () => {
    const a = copyRun('a');
    const b = copyRun('b');
    fs.appendFileSync(path.join(b, 'metrics.jsonl'), '{"step":99,"trainLoss":1}\n');
    const r = await cli(['train', '--resume', a, '-o', b, '--max-steps', '4', '--force']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(metricSteps(b), [1, 2, 3, 4]);
    assert.deepEqual(metricSteps(a), [1, 2], 'A is left as it was');
  });
});

/** Every file under `dir` with its contents, to show that nothing changed. */
function snapshot(dir) {
  if (!fs.existsSync(dir)) return null;
  return Object.fromEntries(
    fs
      .readdirSync(dir, { recursive: true })
      .sort()
      .map((name) => {
        const full = path.join(dir, name);
        return [name, fs.statSync(full).isDirectory() ? 'dir' : fs.readFileSync(full, 'base64')];
      }),
  );
}
