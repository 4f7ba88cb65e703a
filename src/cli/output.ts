/**
 * Where the CLI's words go: stdout carries only data (sampled text, JSON), everything
 * else goes to stderr. Colour only on a terminal, and never when NO_COLOR is set.
 *
 * Every write to stdout goes through `out`, synchronously: a reader that has gone
 * (`| head`) stops the command at once, and a write that fails (`> /dev/full`) is one
 * line and exit 6, instead of output piling up in memory behind an 'error' event that
 * only fires when the work is done.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { writeFileSync, writeSync } from 'node:fs';
import { writeFailure } from '../errors.js';

export { formatCount, formatDuration } from '../render/numbers.js';

export function colourEnabled(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export const paint: ChalkInstance = new Chalk({ level: colourEnabled(process.stderr) ? 1 : 0 });
export const paintStdout: ChalkInstance = new Chalk({ level: colourEnabled(process.stdout) ? 1 : 0 });

/** stdout's reader has gone (a closed pipe): not an error, the command just stops (main.ts). */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout closed');
    this.name = 'StdoutClosed';
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes `text` to stdout now; throws StdoutClosed when the reader has gone, an OutputError when the write fails. */
export function out(text: string): void {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 5); // a non-blocking pipe is full: wait for the reader
      else if (code === 'EPIPE') throw new StdoutClosed();
      else throw writeFailure('stdout', err);
    }
  }
}

/** Writes a file the user asked for (an image, a page); a failure is one line and exit 6. */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw writeFailure(path, err);
  }
}

/** One line of information on stderr. */
export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}
