/**
 * Reading a file whose size we check before we read it. Corpora, checkpoints and metrics
 * all come through here, so none of them can be a device that never ends (/dev/zero), a
 * FIFO that blocks forever, or a file far larger than what will be read from it: the
 * file is opened without blocking, checked with fstat on that same descriptor (no race
 * with a rename), and read for exactly the size fstat gave.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export interface SizeLimit {
  /** The file must hold exactly this many bytes (a weights file whose shapes are known). */
  exactBytes?: number;
  /** Refuse files larger than this. */
  maxBytes?: number;
}

/**
 * The bytes of the regular file at `path`. `fail(reason)` makes the error to throw, so each
 * caller keeps its own error class (and exit code); `reason` reads after the path, e.g.
 * "no such file", "is a FIFO, not a regular file", "holds 12 bytes, expected 48".
 */
export function readRegularFile(path: string, limit: SizeLimit, fail: (reason: string) => Error): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fail(describeOpenError(err));
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw fail(`is ${kindOf(stats)}, not a regular file`);
    const size = stats.size;
    if (limit.exactBytes !== undefined && size !== limit.exactBytes) throw fail(`holds ${size} bytes, expected ${limit.exactBytes}`);
    if (limit.maxBytes !== undefined && size > limit.maxBytes)
      throw fail(`holds ${size} bytes, more than the ${limit.maxBytes} this can read`);
    const bytes = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, bytes, read, size - read, null);
      if (n === 0) throw fail(`shrank while being read (${read} of ${size} bytes)`);
      read += n;
    }
    return bytes;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === undefined) throw err; // one of ours, from fail()
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code})`);
  } finally {
    closeSync(fd);
  }
}

function describeOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return `cannot be opened (${code ?? String(err)})`;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}
