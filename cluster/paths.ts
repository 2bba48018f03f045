import { fileURLToPath } from 'node:url';

// This module runs both compiled (dist/cluster/) and from source under vitest (cluster/).
const compiled = import.meta.url.includes('/dist/cluster/');

/** The repository root. */
export const ROOT = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));
/** Where the compiled processes live. */
export const DIST = fileURLToPath(new URL(compiled ? '../' : '../dist/', import.meta.url));
