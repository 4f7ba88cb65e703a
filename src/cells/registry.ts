/**
 * The recurrent cells a model can stack (`--cell`), each one file implementing
 * `RecurrentCell` (cell.ts). Adding a cell: its file, and one entry here.
 *
 *   lstm  4 gates (i, f, g, o), state h, c   lstm.ts   Keras LSTM       fused on wasm (fused.ts)
 *   gru   3 gates (z, r, h), state h         gru.ts    Keras GRU, reset_after=False (see gru.ts for why)
 *   rnn   1 (tanh), state h                  rnn.ts    Keras SimpleRNN  fused on wasm (fused.ts)
 */
import type { RecurrentCell } from './cell.js';
import { gru } from './gru.js';
import { lstm } from './lstm.js';
import { rnn } from './rnn.js';

export const CELLS = { lstm, gru, rnn } satisfies Record<string, RecurrentCell>;
export type CellType = keyof typeof CELLS;
export const CELL_TYPES = Object.keys(CELLS) as readonly CellType[];

export function isCellType(value: unknown): value is CellType {
  return (CELL_TYPES as readonly unknown[]).includes(value);
}
