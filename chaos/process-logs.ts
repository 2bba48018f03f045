// `serverErrors` and `databaseErrors`: what the cluster's processes logged (JSON lines under the
// cluster's logs/ dir, one file per process). The classifiers are pure; the cursor reads each
// file from where the last scan stopped, whole lines only, so every line is judged once a run.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * An express request line (common/request-log.ts) answering 5xx. 503 is left out: it is the one
 * error shape's "a dependency is down or busy; retry" (a recovering node, a full I/O gate, the
 * mass-outage breaker, no capacity), an expected answer during faults; every other 5xx is a
 * surprise (500 above all: an unexpected error).
 */
export function serverErrorIn(line: string): boolean {
  if (!line.includes('"status":5')) return false;
  const o = parseJson(line);
  return o?.msg === 'request' && typeof o.status === 'number' && o.status >= 500 && o.status !== 503;
}

/**
 * Protocol and connection failures of a Postgres client, never expected of the inventory
 * database: interleaved extended-protocol messages ("bind message supplies 4 parameters, but
 * prepared statement "" requires 1"), broken or refused connections, aborted transactions.
 */
const DATABASE_ERRORS = [
  /bind message (supplies|has)/i,
  /prepared statement/i,
  /portal "[^"]*" does not exist/i,
  /insufficient data left in message/i,
  /invalid message format/i,
  /unexpected message (type|from)/i,
  /Connection terminated unexpectedly/i,
  /server closed the connection unexpectedly/i,
  /terminating connection/i,
  /Client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /too many clients already/i,
  /remaining connection slots are reserved/i,
  /current transaction is aborted/i,
  /deadlock detected/i,
  /could not serialize access/i,
];

export function databaseErrorIn(line: string): boolean {
  return DATABASE_ERRORS.some((re) => re.test(line));
}

/** The Temporal server's own logs speak of its own database, not the inventory. */
export function isInventoryRelevant(file: string): boolean {
  return !file.startsWith('temporal');
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    const o: unknown = JSON.parse(line);
    return o && typeof o === 'object' ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface LogFindings {
  serverErrors: string[];
  databaseErrors: string[];
}

/** Reads the lines each log file gained since the last scan. */
export class LogCursor {
  private readonly offsets = new Map<string, number>();

  constructor(private readonly dir: string) {}

  async scan(): Promise<LogFindings> {
    const found: LogFindings = { serverErrors: [], databaseErrors: [] };
    for (const file of (await readdir(this.dir)).filter((f) => f.endsWith('.log')).sort()) {
      const errors = new Map<string, string>(); // reqId → the error its request logged before answering
      for (const line of await this.newLines(file)) {
        const o = line.includes('"reqId"') ? parseJson(line) : null;
        const cause = o && typeof o.reqId === 'string' ? errors.get(o.reqId) : undefined;
        if (serverErrorIn(line)) found.serverErrors.push(`${file}: ${clip(line)}${cause ? ` ← ${clip(cause)}` : ''}`);
        else if (isInventoryRelevant(file) && databaseErrorIn(line)) found.databaseErrors.push(`${file}: ${clip(line)}`);
        const message = (o?.err as { message?: unknown } | undefined)?.message;
        if (o && typeof o.reqId === 'string' && typeof message === 'string') errors.set(o.reqId, message);
      }
    }
    return found;
  }

  private async newLines(file: string): Promise<string[]> {
    const path = join(this.dir, file);
    const from = this.offsets.get(file) ?? 0;
    const size = (await stat(path)).size;
    if (size <= from) return [];
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(size - from);
      await handle.read(buf, 0, buf.length, from);
      const end = buf.lastIndexOf(0x0a);
      if (end < 0) return [];
      this.offsets.set(file, from + end + 1);
      return buf.subarray(0, end).toString('utf8').split('\n').filter(Boolean);
    } finally {
      await handle.close();
    }
  }
}

function clip(line: string): string {
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
