import type { BackendInfo } from '../backend/select.js';
import { info, paint } from './output.js';

/**
 * The start-up lines that say where the tensors live and, one line each, why a faster
 * backend was not used (all on one line, they ran past an 80-column terminal).
 */
export function announceBackend(backend: BackendInfo): void {
  info(`backend: ${paint.bold(backend.description)}`);
  for (const fallback of backend.fallbacks) info(paint.dim(`  skipped ${fallback}`));
}
