/**
 * `charrnn sample --interactive`: a prompt on stderr; each line typed is a prime, and
 * its continuation goes to stdout. Lines starting with ':' change settings
 * (`:t 0.7`, `:n 300`, `:seed 5`, `:help`); Ctrl-D (or `:q`) leaves.
 * Works the same with piped stdin, one prime or command per line.
 */
import { createInterface } from 'node:readline';
import type { CharModel } from '../model/model.js';
import { SAMPLE_OPTIONS, type SampleSettings } from '../sampling/options.js';
import { generate } from '../sampling/sampler.js';
import { quoteChars, type Vocabulary } from '../data/vocab.js';
import { info, out, paint, paintStdout } from './output.js';

/** Every setting of a sample but its prime, which is typed at the prompt. */
export type InteractiveSettings = Omit<SampleSettings, 'prime'>;

const HELP = `type a prime and press Enter to see how the model continues it (an empty line: it starts on its own)
  :t <temperature>   e.g. :t 0.7 (0 = always the likeliest character)
  :n <length>        characters to generate, e.g. :n 300
  :seed <n>          random seed for the next sample (it goes up by one after each)
  :show              the current settings
  :help              this text
  :q or Ctrl-D       leave`;

/** Reads primes and commands from stdin until it ends; `counts`, the checkpoint's character counts, start an empty prime (sampler.ts). */
export async function interactiveSession(
  model: CharModel,
  vocab: Vocabulary,
  initial: InteractiveSettings,
  counts?: readonly number[],
): Promise<void> {
  const settings = { ...initial };
  const terminal = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal, prompt: paint.bold('prime> ') });
  rl.on('SIGINT', () => rl.close()); // Ctrl-C at the prompt leaves too
  const prompt = () => process.stdin.isTTY && rl.prompt(); // piped lines need no prompt
  info(paint.dim(`interactive: temperature ${settings.temperature}, length ${settings.length}; :help for commands, Ctrl-D to leave`));
  prompt();
  for await (const line of rl) {
    if (line.startsWith(':')) {
      if (!command(line.slice(1).trim(), settings)) break;
    } else {
      const unknown = vocab.unknownChars(line);
      if (unknown.length) {
        info(paint.yellow(`the model never saw ${quoteChars(unknown)}; try another prime`));
      } else {
        let first = true;
        for (const piece of generate(model, vocab, { ...settings, prime: line, counts })) {
          out(first && line !== '' ? paintStdout.dim(piece) : piece); // the prime, then the rest
          first = false;
        }
        out('\n');
        settings.seed++;
      }
    }
    prompt();
  }
  rl.close();
  if (terminal) process.stderr.write('\n');
}

/** Applies one ':' command; false means leave. */
function command(text: string, settings: InteractiveSettings): boolean {
  const [name, ...rest] = text.split(/\s+/);
  const arg = rest.join(' ');
  switch (name) {
    case 't':
    case 'temperature':
    case 'n':
    case 'length':
    case 'seed':
      if (!set(settings, name, arg)) return true;
      break;
    case 'show':
      break;
    case 'help':
    case 'h':
    case '?':
      info(HELP);
      return true;
    case 'q':
    case 'quit':
    case 'exit':
      return false;
    default:
      return warn(`unknown command ':${name}'; :help lists them`);
  }
  info(paint.dim(`temperature ${settings.temperature}, length ${settings.length}, seed ${settings.seed}`));
  return true;
}

/** What each setting command changes, and an example value for its message. */
const SETTERS = {
  t: ['temperature', '0.7'],
  temperature: ['temperature', '0.7'],
  n: ['length', '300'],
  length: ['length', '300'],
  seed: ['seed', '5'],
} as const;

/** Sets a number within the range its flag accepts (sampling/options.ts); else warns and returns false. */
function set(settings: InteractiveSettings, name: keyof typeof SETTERS, arg: string): boolean {
  const [key, example] = SETTERS[name];
  const spec = SAMPLE_OPTIONS[key];
  const value = Number(arg);
  if (arg.trim() === '' || !spec.accepts(value)) {
    warn(`:${name} must be ${spec.range}, e.g. :${name} ${example} (got '${arg}')`);
    return false;
  }
  settings[key] = value;
  return true;
}

/** A mistake in a command: say so and go on. */
function warn(message: string): true {
  info(paint.yellow(message));
  return true;
}
