/**
 * A run directory belongs to one process at a time. Claiming it creates it if need be and
 * writes `run.lock`, which names the holder:
 *   {"pid":1234,"host":"box","started":"2026-12-01T15:00:00.000Z","command":"charrnn train story.txt"}
 * The lock is created with O_EXCL, so of two processes only one gets it. A lock whose
 * process is gone (same host, no such pid) is taken over; one held by a live process, or
 * on another host (where we cannot tell), is refused with the holder's name. Claiming
 * also proves the directory writable before the first training step, and clears what
 * failed saves left in its checkpoints. The lock goes when the run ends, however it ends
 * short of SIGKILL; after a SIGKILL it is stale and the next run takes it over.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError, writeFailure } from '../errors.js';
import { holdsCheckpoints, MODEL_FILE } from './checkpoint.js';
import { removeLeftovers } from './save.js';
import { METRICS_FILE } from './metrics.js';

export const LOCK_FILE = 'run.lock';
const CHECKPOINT_DIRS = ['latest', 'best'];
/** Lock files this process holds: a lock with our pid that is not among them was left by an earlier process that had our pid. */
const held = new Set<string>();

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601 time the run claimed the directory. */
  started: string;
  command: string;
}

export interface RunClaim {
  dir: string;
  /** The holder of a stale lock this claim took over, to be reported. */
  tookOverFrom: LockHolder | null;
  /** Removes the lock if it is still ours (and the directory, if this claim created it and it stayed empty). Also runs at process exit. */
  release(): void;
}

/** Claims `dir`, creating it if it does not exist. */
export function claimRunDirectory(dir: string, command: string): RunClaim {
  refuseRunsAround(dir);
  makeParent(dir);
  let created = true;
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(dir, err);
    if (!statSync(dir).isDirectory()) throw new OutputError(`${dir} is a file, not a run directory`);
    created = false;
  }
  return lock(dir, created, command);
}

/**
 * Creates and claims the first of `base`, `base-2`, `base-3`… that does not exist yet.
 * mkdir is atomic, so two runs started together get different directories.
 */
export function claimNewRunDirectory(base: string, command: string): RunClaim {
  refuseInsideLiveRun(base);
  makeParent(base);
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw writeFailure(dir, err);
    }
    return lock(dir, true, command);
  }
}

/** True when `dir` holds a run's checkpoints or metrics: what a new run there would overwrite. */
export function holdsRun(dir: string): boolean {
  return holdsCheckpoints(dir) || existsSync(join(dir, METRICS_FILE));
}

/** 'run' or 'checkpoint' when `dir` is one of ours (a run directory, or a checkpoint with its hashed weight files); else null. */
export function runOrCheckpoint(dir: string): 'run' | 'checkpoint' | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  if (
    existsSync(join(dir, LOCK_FILE)) ||
    existsSync(join(dir, METRICS_FILE)) ||
    CHECKPOINT_DIRS.some((sub) => holdsCheckpoints(join(dir, sub)))
  )
    return 'run';
  return readdirSync(dir).some((name) => /^(weights|state)-[0-9a-f]+\.bin$/.test(name)) ? 'checkpoint' : null;
}

/**
 * Refuses to write `target` (a file or directory) inside a run a live process holds: that
 * run's saves remove files they do not know (save.ts), and its directory is its own until
 * it ends.
 */
export function refuseInsideLiveRun(target: string): void {
  for (let dir = dirname(resolve(target)); ; dir = dirname(dir)) {
    const holder = liveHolder(dir);
    if (holder !== null)
      throw new OutputError(
        `${target} is inside ${dir}, which is in use by another run: ${describeHolder(holder)}; wait for it to end or write elsewhere`,
      );
    if (dirname(dir) === dir) return;
  }
}

/**
 * Refuses to write the file `target` (an image, a page) where it would change a run or a
 * checkpoint: inside a checkpoint directory, whose own files are the checkpoint and whose
 * saves remove files they do not know, or over a run's metrics or lock. The rest of a run
 * directory is the user's to use, while the run trains too.
 */
export function refuseRunFileTarget(target: string): void {
  const dir = dirname(resolve(target));
  const kind = runOrCheckpoint(dir);
  if (kind === 'checkpoint' || existsSync(join(dir, MODEL_FILE)))
    throw new OutputError(`${target} is inside the checkpoint directory ${dir}; write it elsewhere`);
  if (kind === 'run' && [METRICS_FILE, LOCK_FILE].includes(basename(target)))
    throw new OutputError(`${target} is the run's own ${basename(target)}; choose another file`);
}

/** A run directory is refused inside a live run, and around a live run in one of its checkpoint directories (where it would write). */
function refuseRunsAround(dir: string): void {
  refuseInsideLiveRun(dir);
  for (const sub of CHECKPOINT_DIRS.map((name) => join(dir, name))) {
    const holder = liveHolder(sub);
    if (holder !== null)
      throw new OutputError(`${sub} is in use by another run: ${describeHolder(holder)}; wait for it to end or choose another -o`);
  }
}

/** The holder of `dir`'s lock if a live process (or one we cannot tell: another host, an unreadable lock) holds it; else null. */
function liveHolder(dir: string): LockHolder | 'unreadable' | null {
  const path = join(dir, LOCK_FILE);
  const holder = readHolder(path);
  if (holder === 'missing' || (holder !== 'unreadable' && isStale(holder, path))) return null;
  return holder;
}

function makeParent(dir: string): void {
  try {
    mkdirSync(dirname(dir), { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new OutputError(`cannot create ${dir}: part of its path is a file, not a directory`);
    throw writeFailure(dir, err);
  }
}

function lock(dir: string, created: boolean, command: string): RunClaim {
  const path = join(dir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  let tookOverFrom: LockHolder | null = null;
  const release = () => {
    process.off('exit', release);
    held.delete(resolve(path));
    if (sameHolder(readHolder(path), holder)) rmSync(path, { force: true });
    if (created) {
      try {
        rmdirSync(dir); // only if the run never wrote anything
      } catch {
        // not empty: it holds the run
      }
    }
  };
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(path, `${JSON.stringify(holder)}\n`)) break;
    const other = readHolder(path);
    if (other === 'missing' && attempt < 3) continue; // released meanwhile: try again
    if (other !== 'missing' && other !== 'unreadable' && isStale(other, path) && attempt < 3) {
      if (moveAside(path, other)) tookOverFrom = other;
      continue;
    }
    throw new OutputError(
      `${dir} is in use by another run: ${describeHolder(other)}; ` +
        `wait for it to end or choose another -o (if that run is over, delete ${path})`,
    );
  }
  held.add(resolve(path));
  process.on('exit', release); // also after process.exit() on a second Ctrl-C
  try {
    prepareCheckpointDirs(dir);
  } catch (err) {
    release();
    throw err;
  }
  return { dir, tookOverFrom, release };
}

/** Creates `path` holding `text`; false when it already exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeFailure(dirname(path), err);
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw writeFailure(path, err);
  }
  closeSync(fd);
  return true;
}

/** `latest/` and `best/` must be writable directories (or absent); leftovers of failed saves in them go. */
function prepareCheckpointDirs(dir: string): void {
  for (const sub of CHECKPOINT_DIRS.map((name) => join(dir, name))) {
    if (!existsSync(sub)) continue;
    if (!statSync(sub).isDirectory())
      throw new OutputError(
        `${sub} is a file, where the run's ${sub === join(dir, 'best') ? 'best' : 'latest'} checkpoint should go; move it away`,
      );
    const probe = join(sub, `.write-test-${process.pid}`);
    try {
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (err) {
      throw writeFailure(sub, err);
    }
    removeLeftovers(sub, { allTemporary: true });
  }
}

function readHolder(path: string): LockHolder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable'; // ENOTDIR: a file where a directory around it would be
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function sameHolder(a: LockHolder | string, b: LockHolder): boolean {
  return typeof a === 'object' && a.pid === b.pid && a.host === b.host && a.started === b.started;
}

/** On this host and its process gone (or with our pid but not held by us: a process before us, e.g. in a restarted container). */
function isStale(holder: LockHolder, path: string): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !held.has(resolve(path));
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * Takes a stale lock out of the way. Another process may have taken it over first and
 * put its own in place; a lock moved by mistake is put back.
 */
function moveAside(path: string, stale: LockHolder): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return false; // gone already
  }
  const moved = readHolder(aside);
  if (sameHolder(moved, stale)) {
    rmSync(aside, { force: true });
    return true;
  }
  try {
    renameSync(aside, path);
  } catch {
    // nothing more we can do; the loop refuses or retries
  }
  return false;
}

export function describeHolder(holder: LockHolder | 'missing' | 'unreadable'): string {
  if (typeof holder === 'string') return 'its lock cannot be read';
  return `pid ${holder.pid} on ${holder.host}, since ${holder.started} (${holder.command})`;
}
