/**
 * Where the CLI's words go: stdout carries only data (sampled text, JSON), everything
 * else goes to stderr. Whether each of them is coloured is decided here (`colourLevel`).
 *
 * Every write to stdout goes through `out`, synchronously: a reader that has gone
 * (`| head`) stops the command at once, and a write that fails (`> /dev/full`) is one
 * line and exit 6, instead of output piling up in memory behind an 'error' event that
 * only fires when the work is done.
 */
import { Chalk, type ChalkInstance, type ColorSupportLevel } from 'chalk';
import { writeFileSync, writeSync } from 'node:fs';
import { writeFailure } from '../errors.js';
import { refuseRunFileTarget } from '../checkpoint/run-directory.js';

export { formatCount, formatDuration } from '../render/numbers.js';

/** --color (true), --no-color (false), or neither (undefined). */
export type ColourFlag = boolean | undefined;

/**
 * The colour level of one stream (0 none, 1 16 colours, 2 256, 3 16 million); the first
 * rule that speaks decides:
 *   --color / --no-color                on (at least 16 colours) / off
 *   FORCE_COLOR                         read as chalk reads it: 0 or false off; 1, 2, 3
 *                                       (or true, or empty) on at that level, even in a pipe
 *   NO_COLOR (set, not empty)           off (no-color.org)
 *   TERM=dumb, or not a terminal        off
 *   otherwise                           the terminal's level (COLORTERM, TERM)
 * As with chalk and Node, FORCE_COLOR beats NO_COLOR; unlike chalk, the flag beats both
 * (it is the more specific wish, as no-color.org asks).
 */
export function colourLevel(isTTY: boolean, flag: ColourFlag, env: NodeJS.ProcessEnv = process.env): ColorSupportLevel {
  if (flag === false) return 0;
  if (flag === true) return Math.max(1, terminalLevel(env)) as ColorSupportLevel;
  const forced = forceColorLevel(env.FORCE_COLOR);
  if (forced !== undefined) return forced;
  if (env.NO_COLOR || env.TERM === 'dumb' || !isTTY) return 0;
  return terminalLevel(env);
}

/** FORCE_COLOR as chalk's supports-color reads it; undefined when unset or not a level. */
function forceColorLevel(value: string | undefined): ColorSupportLevel | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value === 'true') return 1;
  if (value === 'false') return 0;
  const level = Number.parseInt(value, 10);
  return Number.isNaN(level) || level < 0 ? undefined : (Math.min(level, 3) as ColorSupportLevel);
}

/** How many colours the terminal named by the environment shows. */
function terminalLevel(env: NodeJS.ProcessEnv): ColorSupportLevel {
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (/-256(colou?r)?$/i.test(env.TERM ?? '')) return 2;
  return 1;
}

/** Paints stderr's words and stdout's data; `setColour` sets their levels once the flags are parsed. */
export const paint: ChalkInstance = new Chalk({ level: colourLevel(Boolean(process.stderr.isTTY), undefined) });
export const paintStdout: ChalkInstance = new Chalk({ level: colourLevel(Boolean(process.stdout.isTTY), undefined) });

export function setColour(flag: ColourFlag): void {
  paint.level = colourLevel(Boolean(process.stderr.isTTY), flag);
  paintStdout.level = colourLevel(Boolean(process.stdout.isTTY), flag);
}

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
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN')
        Atomics.wait(pause, 0, 0, 5); // a non-blocking pipe is full: wait for the reader
      else if (code === 'EPIPE') throw new StdoutClosed();
      else throw writeFailure('stdout', err);
    }
  }
}

/**
 * Many small pieces of stdout (a sample's characters) written together: one write per
 * character cost more than the model's step. A piece waits at most FLUSH_MS (text still
 * streams to a terminal, and a reader that has gone stops the command within that time)
 * and at most FLUSH_CHARS pile up; `flush` writes the rest.
 */
export class StdoutBuffer {
  private static readonly FLUSH_MS = 50;
  private static readonly FLUSH_CHARS = 1 << 14;
  private text = '';
  private since = 0;

  write(piece: string): void {
    if (this.text === '') this.since = performance.now();
    this.text += piece;
    if (this.text.length >= StdoutBuffer.FLUSH_CHARS || performance.now() - this.since >= StdoutBuffer.FLUSH_MS) this.flush();
  }

  flush(): void {
    const text = this.text;
    this.text = '';
    if (text !== '') out(text);
  }
}

/** Writes a file the user asked for (an image, a page), never into a checkpoint; a failure is one line and exit 6. */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  refuseRunFileTarget(path);
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
