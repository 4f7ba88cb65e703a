/**
 * One setting, declared once: its flag, value type, default, range, help and heading.
 * The same declaration parses the flag's text on the command line (cli/main.ts), checks
 * values handed to the library (`validateValues`), and writes --help, shell completion and
 * docs/flags.md. This module knows nothing of commander.
 */
import { UserError } from '../errors.js';

export interface OptionSpec<T> {
  /** The long flag: '--max-time'. */
  flag: `--${string}`;
  short?: `-${string}`;
  /** The value's name in help and completion ('n', 'dir'); absent for a switch. */
  placeholder?: string;
  help: string;
  /** The heading it is listed under in --help and docs/flags.md. */
  group: string;
  default: T;
  /** Shown as the default when `default` cannot say it ('one per core', 'random'). */
  defaultText?: string;
  /** What valid values are, for messages and docs: 'an integer ≥ 1', 'in (0, 1]'. */
  range?: string;
  choices?: readonly string[];
  /** The command line is refused without it. */
  mandatory?: boolean;
  /** A switch's opposite ('--no-color'), which gives false; --help, completion and docs list it as a flag of its own. */
  negation?: { flag: `--no-${string}`; help: string };
  /** Completion for the value: file or directory names. */
  completes?: 'files' | 'dirs';
  /** A typical use, for docs/flags.md: '--max-time 30m'. */
  example?: string;
  // A method, not a function property, so that OptionSpec<'lstm' | 'gru'> is an OptionSpec<unknown>.
  /**
   * The flag's text as a value (`previous`: the value so far, for a repeatable flag);
   * throws a UserError naming the flag. Absent for a switch.
   */
  parse?(text: string, previous: T): T;
  /** Whether a value (parsed, or handed to the library) is allowed. */
  accepts: (value: unknown) => boolean;
}

/** Settings by key: the key is the option's name in code, `flag` its name on the command line. */
export type OptionTable = Record<string, OptionSpec<unknown>>;

/** The typed values a table describes: what a command function receives. */
export type OptionValues<Table> = { [K in keyof Table]: Table[K] extends OptionSpec<infer T> ? T : never };

/** What every option says about itself; the builders below add the value type. */
type Described = Pick<OptionSpec<unknown>, 'flag' | 'short' | 'placeholder' | 'help' | 'group' | 'defaultText' | 'example'>;

/** A bound value such as [0, 1) in (0, 0.5): `inclusive` false leaves the bound itself out. */
interface Bound {
  value: number;
  inclusive: boolean;
}

/** `min ≤ n`, `n < below`, …; both absent: any finite number. */
export interface NumberRange {
  min?: Bound;
  max?: Bound;
}

export const atLeast = (value: number): Bound => ({ value, inclusive: true });
export const above = (value: number): Bound => ({ value, inclusive: false });
export const atMost = (value: number): Bound => ({ value, inclusive: true });
export const below = (value: number): Bound => ({ value, inclusive: false });

function inRange(n: number, { min, max }: NumberRange): boolean {
  if (min && !(min.inclusive ? n >= min.value : n > min.value)) return false;
  return !max || (max.inclusive ? n <= max.value : n < max.value);
}

function describeRange({ min, max }: NumberRange): string {
  if (min && max) return `in ${min.inclusive ? '[' : '('}${min.value}, ${max.value}${max.inclusive ? ']' : ')'}`;
  if (min) return min.value === 0 && !min.inclusive ? 'positive' : `${min.inclusive ? '≥' : '>'} ${min.value}`;
  if (max) return `${max.inclusive ? '≤' : '<'} ${max.value}`;
  return 'a number';
}

function refuse(flag: string, range: string | undefined, text: string): never {
  throw new UserError(`${flag} must be ${range} (got '${text}')`);
}

/** An integer ≥ `min`; `nullable`: the library may also give null (what null means is the setting's to say). */
export function integer<D extends number | null | undefined>(
  spec: Described & { min: number; default: D; nullable?: true },
): OptionSpec<number | D> {
  const { nullable, ...described } = spec;
  const range = `an integer ≥ ${spec.min}`;
  const accepts = (value: unknown): boolean =>
    value === spec.default || (nullable === true && value === null) || (Number.isInteger(value) && (value as number) >= spec.min);
  return {
    placeholder: 'n',
    ...described,
    range,
    accepts,
    parse: (text) => {
      const n = Number(text);
      if (!/^[+-]?\d+$/.test(text.trim()) || !accepts(n)) refuse(spec.flag, range, text);
      return n;
    },
  };
}

/** A finite number in `range`. */
export function real<D extends number | null | undefined>(spec: Described & { range: NumberRange; default: D }): OptionSpec<number | D> {
  const { range: bounds, ...rest } = spec;
  const range = describeRange(bounds);
  const accepts = (value: unknown): boolean =>
    value === spec.default || (typeof value === 'number' && Number.isFinite(value) && inRange(value, bounds));
  return {
    ...rest,
    range,
    accepts,
    parse: (text) => {
      const n = Number(text);
      if (text.trim() === '' || !accepts(n)) refuse(spec.flag, range, text);
      return n;
    },
  };
}

/** A comma-separated list of the values `item` parses: "0.5,1" → [0.5, 1]. */
export function listOf(item: OptionSpec<number>, spec: Described & { default: number[] }): OptionSpec<number[]> {
  const range = `a number ${item.range}, or a comma-separated list of them`;
  return {
    ...spec,
    range,
    accepts: (value) => Array.isArray(value) && value.length > 0 && value.every(item.accepts),
    parse: (text) => {
      const items = text.split(',').map((piece) => piece.trim());
      const numbers = items.map(Number);
      if (items.some((piece, k) => piece === '' || !item.accepts(numbers[k]))) refuse(spec.flag, range, text);
      return numbers;
    },
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Seconds, written "90s", "5m", "1.5h" or plain seconds. */
export function duration<D extends null | undefined>(spec: Described & { default: D }): OptionSpec<number | D> {
  const range = 'a duration such as 90s, 5m or 1h';
  return {
    placeholder: 'duration',
    ...spec,
    range,
    accepts: (value) => value === spec.default || (typeof value === 'number' && value > 0),
    parse: (text) => {
      const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text.trim());
      const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's'] : NaN;
      if (!(seconds > 0)) refuse(spec.flag, range, text);
      return seconds;
    },
  };
}

/** One of `choices`. */
export function choice<T extends string>(spec: Described & { choices: readonly T[]; default: T }): OptionSpec<T> {
  const range = `one of ${spec.choices.join(', ')}`;
  const accepts = (value: unknown): value is T => (spec.choices as readonly unknown[]).includes(value);
  return {
    placeholder: 'name',
    ...spec,
    range,
    accepts,
    parse: (text) => (accepts(text) ? text : refuse(spec.flag, range, text)),
  };
}

/** A flag without a value: false unless given. */
export function flag(spec: Omit<Described, 'placeholder'>): OptionSpec<boolean> {
  return { ...spec, default: false, accepts: (value) => typeof value === 'boolean' };
}

/** A switch and its negation (--color, --no-color): true or false when one is given, undefined when neither is. */
export function toggle(
  spec: Omit<Described, 'placeholder'> & Required<Pick<OptionSpec<unknown>, 'negation'>>,
): OptionSpec<boolean | undefined> {
  return { ...spec, default: undefined, accepts: (value) => value === undefined || typeof value === 'boolean' };
}

/** Any text (a prime, a path); `completes` says whether it names a file or a directory. */
export function text<D extends string | undefined>(
  spec: Described & { placeholder: string; default: D; completes?: 'files' | 'dirs' },
): OptionSpec<string | D> {
  return { ...spec, accepts: (value) => value === spec.default || typeof value === 'string', parse: (value) => value };
}

/** Text that must be given (a path, usually): the command line is refused without it. */
export function mandatoryText(spec: Described & { placeholder: string; completes?: 'files' | 'dirs' }): OptionSpec<string> {
  return { ...spec, default: '', mandatory: true, accepts: (value) => typeof value === 'string' && value !== '', parse: (value) => value };
}

const ESCAPES: Partial<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

/** Non-empty text with the escapes \n, \r, \t and \\ (so a newline can be typed in a shell), given once per value. */
export function repeatableEscapedText(spec: Described & { placeholder: string }): OptionSpec<readonly string[]> {
  return {
    ...spec,
    default: [],
    range: 'non-empty text',
    accepts: (value) => Array.isArray(value) && value.every((s) => typeof s === 'string' && s !== ''),
    parse: (value, previous) => [...previous, unescape(spec.flag, value)],
  };
}

function unescape(flag: string, value: string): string {
  const result = value.replace(/\\(.?)/gs, (whole, ch: string) => {
    const replacement = ESCAPES[ch];
    if (replacement === undefined) throw new UserError(`${flag}: unknown escape '${whole}' in '${value}' (use \\n, \\r, \\t or \\\\)`);
    return replacement;
  });
  if (result === '') throw new UserError(`${flag} must not be empty`);
  return result;
}

/** The table with every default taken away: a value is there only if it was given. */
export function overrides<Table extends OptionTable>(table: Table): { [K in keyof Table]: OptionSpec<OptionValues<Table>[K] | undefined> } {
  const entries = Object.entries(table).map(([key, spec]) => [key, { ...spec, default: undefined, defaultText: shownDefault(spec) }]);
  return Object.fromEntries(entries) as { [K in keyof Table]: OptionSpec<OptionValues<Table>[K] | undefined> };
}

/** The defaults of a table, by key. */
export function defaultsOf<Table extends OptionTable>(table: Table): OptionValues<Table> {
  return Object.fromEntries(Object.entries(table).map(([key, spec]) => [key, spec.default])) as OptionValues<Table>;
}

/** The values that were given: keys whose value is undefined left out. */
export function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Refuses the first value the table does not accept, naming its flag. Only `complete`
 * values must have every setting; otherwise an undefined one was not given and is left alone.
 */
export function validateValues<Table extends OptionTable>(table: Table, values: Partial<OptionValues<Table>>, complete = false): void {
  for (const [key, spec] of Object.entries(table)) {
    const value: unknown = values[key];
    const given = complete || value !== undefined;
    if (given && !spec.accepts(value)) throw new UserError(`${spec.flag} must be ${spec.range} (got ${String(value)})`);
  }
}

/** The default as help shows it; undefined when there is nothing worth saying (off, none, empty). */
export function shownDefault(spec: OptionSpec<unknown>): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const value = spec.default;
  if (value === undefined || value === null || value === false || value === '') return undefined;
  if (Array.isArray(value)) return value.length ? value.join(',') : undefined;
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}
