/**
 * Writing a file so that a crash leaves either the old file or the new one, complete:
 * write to a temporary name beside it, flush to disk, rename over it. Checkpoints and
 * exported safetensors are written this way.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Write to a temporary name beside the target, flush to disk, then rename over it. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeDurably(tmp, (fd) => writeSync(fd, data));
  renameSync(tmp, path);
}

/** Creates `path`, fills it through `write`, and flushes it to disk before closing; a failed write removes it. */
export function writeDurably(path: string, write: (fd: number) => void): void {
  const fd = openSync(path, 'w');
  let written = false;
  try {
    write(fd);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(path, { force: true });
  }
}

/** Makes the renames in `dir` durable. */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Not every platform can fsync a directory (Windows); the renames are still atomic.
  }
}
