import type { BackendInfo } from '../backend/select.js';
import { info, paint } from './output.js';

/** The start-up line that says where the tensors live, and why a faster backend was not used. */
export function announceBackend(backend: BackendInfo): void {
  const why = backend.fallbacks.length ? paint.dim(` (skipped ${backend.fallbacks.join('; ')})`) : '';
  info(`backend: ${paint.bold(backend.description)}${why}`);
}
