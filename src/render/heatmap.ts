/**
 * Surprisal heatmaps (bits = −log2 p of each character, as in the char-rnn blog's
 * pictures), drawn as strings: for a terminal, and as a self-contained HTML page.
 *
 * Surprisal is bucketed by whole bits: bucket d holds [d, d+1) bits, bucket 9 is 9 bits
 * or more. On a colour terminal each character gets its bucket's background; without
 * colour, each text line is followed by a line of bucket digits. The HTML page is
 * self-contained (inline CSS and JS): hovering a character shows the model's top-5
 * predictions there.
 */
import type { ChalkInstance } from 'chalk';
import type { CharSurprisal } from '../scoring/surprisal.js';

/** Background of each bucket, pale (expected) to dark red (surprising); bucket 0 is left plain. */
export const BUCKET_COLOURS = [
  '#ffffff',
  '#ffffcc',
  '#ffeda0',
  '#fed976',
  '#feb24c',
  '#fd8d3c',
  '#fc4e2a',
  '#e31a1c',
  '#bd0026',
  '#800026',
];
const DARK_FROM = 7; // buckets from here on get white text

export function bucket(bits: number): number {
  return Math.max(0, Math.min(9, Math.floor(bits)));
}

export function bucketRange(d: number): string {
  return d === 9 ? '≥9 bits' : `${d}–${d + 1} bits`;
}

// ---------------------------------------------------------------- terminal

interface TerminalStyle {
  chalk: ChalkInstance;
  columns: number;
}

/** The text coloured by surprisal, or, without colour, each line followed by a line of bucket digits. */
export function renderTerminal(chars: readonly CharSurprisal[], { chalk, columns }: TerminalStyle): string {
  return chalk.level > 0 ? colouredText(chars, chalk) : digitLines(chars, Math.max(10, columns));
}

function colouredText(chars: readonly CharSurprisal[], chalk: ChalkInstance): string {
  let out = '';
  for (const { char, bits } of chars) {
    const cell = displayChar(char) || (char === '\n' ? ' ' : '');
    const painted = bits === null ? chalk.dim(cell) : paintBucket(chalk, bucket(bits), cell);
    out += char === '\n' ? `${painted}\n` : painted;
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}

/** On a 16-colour terminal, hex colours would collapse unevenly: a ramp of its own colours instead. */
const ANSI16: ((c: ChalkInstance) => ChalkInstance)[] = [
  (c) => c,
  (c) => c.bgWhite.black,
  (c) => c.bgYellowBright.black,
  (c) => c.bgYellowBright.black,
  (c) => c.bgYellow.black,
  (c) => c.bgYellow.black,
  (c) => c.bgRedBright.black,
  (c) => c.bgRed.whiteBright,
  (c) => c.bgRed.whiteBright,
  (c) => c.bgMagenta.whiteBright,
];

function paintBucket(chalk: ChalkInstance, d: number, text: string): string {
  if (d === 0 || text === '' || chalk.level === 0) return text;
  if (chalk.level === 1) return ANSI16[d](chalk)(text);
  return chalk.bgHex(BUCKET_COLOURS[d]).hex(d >= DARK_FROM ? '#ffffff' : '#000000')(text);
}

/** Text lines (wrapped at `columns`), each followed by its digits; · under the first character, which is not predicted. */
function digitLines(chars: readonly CharSurprisal[], columns: number): string {
  const out: string[] = [];
  let text = '';
  let digits = '';
  let width = 0;
  const endLine = () => {
    out.push(text.trimEnd(), digits.trimEnd());
    text = digits = '';
    width = 0;
  };
  for (const { char, bits } of chars) {
    const digit = bits === null ? '·' : String(bucket(bits));
    if (char === '\n') {
      digits += digit; // the newline's digit sits just past the line's end
      endLine();
      continue;
    }
    const shown = displayChar(char);
    const w = isWide(shown) ? 2 : 1;
    if (width + w > columns) endLine();
    text += shown;
    digits += digit.padEnd(w);
    width += w;
  }
  if (text || digits) endLine();
  return `${out.join('\n')}\n`;
}

export function terminalLegend(chalk: ChalkInstance): string {
  if (chalk.level === 0) {
    return 'surprisal per character, the digit under it: d = d to d+1 bits (9 = 9 bits or more); · = first character, not predicted';
  }
  const swatches = BUCKET_COLOURS.map((_, d) => paintBucket(chalk, d, ` ${d === 9 ? '9+' : d} `)).join('');
  return `surprisal, bits per character: ${swatches}  (0 = under 1 bit, 9+ = 9 bits or more)`;
}

/** One character as a terminal cell: tabs become a space, other control characters a middle dot; a newline is empty. */
function displayChar(char: string): string {
  if (char === '\n' || char === '\r') return '';
  if (char === '\t') return ' ';
  if (/^\p{Cc}$/u.test(char)) return '·';
  return char;
}

/** Characters a terminal draws two columns wide: East Asian scripts, full-width forms, emoji. */
const WIDE = new RegExp(
  '[' +
    '\\u1100-\\u115F\\u2E80-\\u303E\\u3041-\\u33FF\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uA000-\\uA4CF\\uAC00-\\uD7A3' +
    '\\uF900-\\uFAFF\\uFE30-\\uFE4F\\uFF00-\\uFF60\\uFFE0-\\uFFE6' +
    '\\u{1F300}-\\u{1F64F}\\u{1F900}-\\u{1F9FF}\\u{20000}-\\u{3FFFD}' +
    ']',
  'u',
);

function isWide(char: string): boolean {
  return WIDE.test(char);
}

// ---------------------------------------------------------------- extremes

export interface Extreme {
  index: number;
  char: string;
  bits: number;
  /** Up to `CONTEXT` characters before it. */
  context: string;
  top: [string, number][];
}

const CONTEXT = 20;

/** The `n` most and `n` least surprising characters, with the text before each. */
export function extremes(chars: readonly CharSurprisal[], n = 10): { most: Extreme[]; least: Extreme[] } {
  const scored: Extreme[] = [];
  chars.forEach(({ char, bits, top }, index) => {
    if (bits === null) return;
    const context = chars
      .slice(Math.max(0, index - CONTEXT), index)
      .map((c) => c.char)
      .join('');
    scored.push({ index, char, bits, context, top });
  });
  const byBits = [...scored].sort((a, b) => b.bits - a.bits || a.index - b.index);
  return { most: byBits.slice(0, n), least: byBits.slice(-n).reverse() };
}

export function renderExtremes(chars: readonly CharSurprisal[], chalk: ChalkInstance): string {
  const { most, least } = extremes(chars);
  const line = (e: Extreme) => {
    const expected = e.top
      .slice(0, 3)
      .map(([c, p]) => `${quoted(c)} ${(p * 100).toFixed(1)}%`)
      .join(', ');
    const p = 2 ** -e.bits;
    const bits = `${e.bits.toFixed(2).padStart(6)} bits`;
    const where = `${quotedContext(e.context)} → ${paintBucket(chalk, bucket(e.bits), quoted(e.char))}`;
    return `${bits}  ${where} (p ${formatPercent(p)}; expected ${expected})`;
  };
  return [
    `most surprising (bits, the ${CONTEXT} characters before → the character):`,
    ...most.map(line),
    '',
    'least surprising:',
    ...least.map(line),
    '',
  ].join('\n');
}

function formatPercent(p: number): string {
  return p >= 0.001 ? `${(p * 100).toFixed(1)}%` : `${Number((p * 100).toPrecision(2))}%`;
}

/** A character in single quotes, with \n, \t and other control characters escaped. */
function quoted(char: string): string {
  return `'${escapeControl(char)}'`;
}

function quotedContext(context: string): string {
  return `"${escapeControl(context)}"`.padStart(CONTEXT + 2);
}

function escapeControl(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => ({ '\n': '\\n', '\t': '\\t', '\r': '\\r' })[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

// ---------------------------------------------------------------- HTML

export interface HtmlOptions {
  title: string;
  summary: string;
  checkpoint: string;
}

/** A self-contained page: one span per character, coloured by bucket; hover shows the top-5 predictions. */
export function renderHtml(chars: readonly CharSurprisal[], options: HtmlOptions): string {
  const legend = BUCKET_COLOURS.map((_, d) => `<span class="sw b${d}">${d === 9 ? '9+' : d}</span>`).join('');
  const { most, least } = extremes(chars);
  const bucketCss = BUCKET_COLOURS.map((c, d) => `.b${d}{background:${c};${d >= DARK_FROM ? 'color:#fff;' : ''}}`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>
${PAGE_CSS}
${bucketCss}
</style>
</head>
<body>
<h1>How surprised the model was by each character</h1>
<p class="meta">${escapeHtml(options.summary)} · checkpoint ${escapeHtml(options.checkpoint)}</p>
<div class="legend"><span>bits = −log<sub>2</sub> p(char | text before):</span>${legend}<span>(0 = under 1 bit, 9+ = 9 bits or more; \
grey: first character, not predicted). Hover a character for the model's top 5 there.</span></div>
<pre id="text">${chars.map(charSpan).join('')}</pre>
${extremesTable('Most surprising', most)}
${extremesTable('Least surprising', least)}
<div id="tip" hidden></div>
<script>
${TOOLTIP_SCRIPT}
</script>
</body>
</html>
`;
}

/** One character as a span classed by its bucket, with its bits and the model's top 5 for the tooltip. */
function charSpan({ char, bits, top }: CharSurprisal): string {
  const nl = char === '\n';
  const after = nl ? '\n' : ''; // the real line break, outside the span
  if (bits === null) return `<span class="c na${nl ? ' nl' : ''}" data-bits="">${charHtml(char)}</span>${after}`;
  const data = JSON.stringify(top.map(([c, p]) => [c, Number(p.toPrecision(4))]));
  const attributes = `class="c b${bucket(bits)}${nl ? ' nl' : ''}" data-bits="${bits.toFixed(3)}" data-top='${escapeHtml(data)}'`;
  return `<span ${attributes}>${charHtml(char)}</span>${after}`;
}

/** The most or least surprising characters as a table: bits, the text before, the character, the model's top 5. */
function extremesTable(caption: string, list: Extreme[]): string {
  const text = (t: string) => escapeHtml(escapeControl(t));
  const rows = list.map((e) => {
    const top = e.top.map(([c, p]) => `${text(c)} ${(p * 100).toFixed(1)}%`).join(' · ');
    const char = `<span class="c b${bucket(e.bits)}">${text(e.char)}</span>`;
    return `<tr><td class="num">${e.bits.toFixed(2)}</td><td class="ctx">${text(e.context)}</td><td>${char}</td><td>${top}</td></tr>`;
  });
  const head = `<tr><th>bits</th><th>${CONTEXT} characters before</th><th>char</th><th>model's top 5 there</th></tr>`;
  return `<table><caption>${caption}</caption><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

const PAGE_CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#666;margin:0 0 12px}
.legend{display:flex;align-items:center;gap:8px;margin-bottom:16px;flex-wrap:wrap}
.legend>span:first-child{white-space:nowrap}
.legend .sw{display:inline-block;width:28px;text-align:center;border:1px solid #ddd;font:12px ui-monospace,monospace}
#text{font:15px/1.6 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;\
background:#fff;border:1px solid #ddd;padding:12px;margin:0}
.c{cursor:default}
#text .c:hover{outline:1px solid #000}
.na{color:#999}
.nl{color:#bbb}
#tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #888;box-shadow:0 2px 8px rgba(0,0,0,.2);padding:6px 8px;\
font:12px ui-monospace,monospace;z-index:10;min-width:180px}
#tip .row{display:flex;gap:6px;align-items:center}
#tip .bar{height:8px;background:#4a7bd0}
#tip .hit{font-weight:bold}
table{border-collapse:collapse;margin:18px 0;font-size:13px}
caption{text-align:left;font-weight:bold;margin-bottom:4px}
td,th{border-bottom:1px solid #e4e4e4;padding:2px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.ctx{font-family:ui-monospace,monospace;white-space:pre;text-align:right;color:#555}`;

/** Hovering a character shows its bits and the model's top 5 there, from the span's data attributes. */
const TOOLTIP_SCRIPT = `(function () {
  var tip = document.getElementById('tip');
  function show(c) { return c === '\\n' ? '\\\\n' : c === '\\t' ? '\\\\t' : c === ' ' ? '␣' : c; }
  function esc(s) { return s.replace(/[&<>]/g, function (m) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;' }[m]; }); }
  function row(e, ch) {
    var bar = '<span class="bar" style="width:' + Math.max(1, Math.round(e[1] * 100)) + 'px"></span>';
    return '<div class="row' + (e[0] === ch ? ' hit' : '') + '"><span style="width:2.5em">' + esc(show(e[0])) + '</span>' + bar +
      '<span>' + (100 * e[1]).toFixed(1) + '%</span></div>';
  }
  document.getElementById('text').addEventListener('mouseover', function (ev) {
    var el = ev.target;
    if (!el.classList || !el.classList.contains('c')) return;
    var ch = el.classList.contains('nl') ? '\\n' : el.textContent;
    if (el.dataset.bits === '') { tip.innerHTML = '<b>' + esc(show(ch)) + '</b>: the first character, not predicted'; }
    else {
      var bits = Number(el.dataset.bits), top = JSON.parse(el.dataset.top);
      var p = (100 * Math.pow(2, -bits)).toFixed(2);
      tip.innerHTML = '<div><b>' + esc(show(ch)) + '</b>: ' + bits.toFixed(2) + ' bits (p = ' + p + '%)</div>' +
        top.map(function (e) { return row(e, ch); }).join('');
    }
    tip.hidden = false;
    var r = el.getBoundingClientRect();
    tip.style.left = Math.min(r.left, window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = (r.bottom + 6 + tip.offsetHeight > window.innerHeight ? r.top - tip.offsetHeight - 6 : r.bottom + 6) + 'px';
  });
  document.getElementById('text').addEventListener('mouseout', function () { tip.hidden = true; });
})();`;

/** The span's visible content: a newline shows as a faint ↵ (the real newline follows the span). */
function charHtml(char: string): string {
  if (char === '\n') return '↵';
  if (char === '\r') return '␍';
  return escapeHtml(char);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
