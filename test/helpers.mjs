// Shared test setup: the wasm backend (what users without tfjs-node run) and small fixtures.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { selectBackend } from '../dist/backend.js';

export const TINY_CORPUS = new URL('../corpora/tiny.txt', import.meta.url).pathname;
export const tinyText = () => readFileSync(TINY_CORPUS, 'utf8');

export async function useBackend(name = 'wasm') {
  await selectBackend(name);
  return tf;
}

export function maxAbsDiff(a, b) {
  assertSameLength(a, b);
  let max = 0;
  for (let k = 0; k < a.length; k++) max = Math.max(max, Math.abs(a[k] - b[k]));
  return max;
}

function assertSameLength(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
}
