// `npm start`'s terminal view of the children's logs: the JSON lines appended to logs/<name>.log
// (the files stay JSON) are pretty-printed as they arrive. Lines that are not pino's (the Temporal
// server's own) stay in their files only.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { prettyFactory } from 'pino-pretty';

const MAX_READ = 1 << 20;

export interface FollowOptions {
  /** Lowest pino level shown (30 info, 40 warn…). */
  minLevel: number;
  colorize: boolean;
  intervalMs?: number;
}

/**
 * The one-line pretty form used on `npm start`'s terminal, for this process's lines and the
 * children's: the ids people search by stay (nodeId, volumeId, workflowId, activityType…); the
 * Temporal SDK's bookkeeping fields are left to the files.
 */
export const PRETTY = {
  ignore: 'pid,hostname,component,sdkComponent,taskQueue,namespace,isLocal,activityId,runId,workflowRunId',
  translateTime: 'SYS:HH:MM:ss.l',
  singleLine: true,
} as const;

/**
 * Follows every *.log in `dir`, from its current end (a previous run's lines are not replayed).
 * `flush` shows what is there now (before the banner); `stop` ends the following.
 */
export function followLogs(dir: string, write: (text: string) => void, opts: FollowOptions): { flush: () => void; stop: () => void } {
  const offsets = new Map<string, number>(logFiles(dir).map((f) => [f, statSync(f).size]));
  const partial = new Map<string, string>();
  const prettify = prettyFactory({ ...PRETTY, colorize: opts.colorize });
  const poll = () => {
    for (const file of logFiles(dir)) {
      const text = (partial.get(file) ?? '') + readNew(file, offsets);
      const end = text.lastIndexOf('\n');
      partial.set(file, text.slice(end + 1));
      for (const line of text.slice(0, end + 1).split('\n')) {
        const shown = pinoLine(line, opts.minLevel);
        if (shown) write(prettify(shown));
      }
    }
  };
  const timer = setInterval(poll, opts.intervalMs ?? 250);
  return { flush: poll, stop: () => clearInterval(timer) };
}

function logFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** What was appended to `file` since the last read (at most 1 MiB a poll). */
function readNew(file: string, offsets: Map<string, number>): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const from = Math.min(offsets.get(file) ?? 0, size);
    const buf = Buffer.alloc(Math.min(size - from, MAX_READ));
    const read = readSync(fd, buf, 0, buf.length, from);
    offsets.set(file, from + read);
    return buf.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The parsed line when it is a pino line at or above `minLevel`, else null. */
export function pinoLine(line: string, minLevel: number): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return typeof parsed.level === 'number' && typeof parsed.msg === 'string' && parsed.level >= minLevel ? parsed : null;
  } catch {
    return null;
  }
}
