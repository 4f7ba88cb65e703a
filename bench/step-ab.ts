/**
 * Whole training steps of this checkout against another one (e.g. main's, built, with this
 * checkout's dist-bench/step-profile.js copied into its dist-bench/): bench:profile's median
 * step time and CPU time per step (every thread's: on a shared machine the steadier figure of
 * the work a step does), run alternately in each tree's own process (two bundled tfjs copies
 * cannot share one), so machine noise falls on both; prints every run and the medians' ratios.
 *
 *   node dist-bench/step-ab.js <other checkout> [repeats] [sizes] [threads] [steps per run]
 * (sizes as bench:profile's: a hidden size H for 2×H, or a bench configuration's name such as 3x512)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';

const [other, repeats = '5', sizes = '128,256', threadCounts = '1,2', steps = '6'] = process.argv.slice(2);
if (!other) throw new Error('usage: step-ab.js <other checkout> [repeats] [sizes] [threads] [steps per run]');
const trees: [string, string][] = [
  ['other', other],
  ['this', fileURLToPath(new URL('..', import.meta.url))],
];

function stepMs(tree: string, size: string, threads: string): { wall: number; cpu: number } {
  const out = execFileSync(process.execPath, [`${tree}/dist-bench/step-profile.js`, steps, size, threads], { encoding: 'utf8' });
  const match = /step ([\d.]+) ms .*cpu ([\d.]+) ms/.exec(out);
  if (!match) throw new Error(`no step time in the output of ${tree}:\n${out}`);
  return { wall: Number(match[1]), cpu: Number(match[2]) };
}

for (const size of sizes.split(',')) {
  for (const threads of threadCounts.split(',')) {
    const runs = trees.map(() => [] as { wall: number; cpu: number }[]);
    for (let r = 0; r < Number(repeats); r++) trees.forEach(([, tree], t) => runs[t].push(stepMs(tree, size, threads)));
    for (const kind of ['wall', 'cpu'] as const) {
      const [a, b] = runs.map((rs) => rs.map((r) => r[kind]));
      const fmt = (xs: number[]) => `${median(xs).toFixed(1)} ms [${xs.map((x) => x.toFixed(0)).join(' ')}]`;
      console.log(
        `${size.includes('x') ? size : `2x${size}`}, ${threads} thread(s), ${kind}: other ${fmt(a)}, this ${fmt(b)}, ${(median(a) / median(b)).toFixed(2)}x`,
      );
    }
  }
}
