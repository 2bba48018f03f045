// Structured logs: one pino logger per process, JSON lines on stdout (a local cluster writes each
// child's stdout to logs/<name>.log). Call sites take a child with the fields they know —
// nodeId, volumeId, workflowId — so a line can be found by any of them. Not for workflow code:
// workflows log through Temporal's `log`, which the worker's Runtime sends here (workers/temporal-log.ts).
import { pino, stdSerializers, type DestinationStream, type Level, type Logger } from 'pino';

export type Log = Logger;
export type LogFields = { nodeId?: string; volumeId?: string; workflowId?: string; component?: string } & Record<string, unknown>;

let root: Logger | null = null;

/**
 * The level from LOG_LEVEL (trace … fatal, silent); info by default, warn for code the test runner
 * runs in its own process (a cluster's children keep info: the harness waits for their lines).
 */
export function logLevel(env: NodeJS.ProcessEnv = process.env): Level | 'silent' {
  const wanted = env.LOG_LEVEL?.trim().toLowerCase();
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  if (wanted && levels.includes(wanted)) return wanted as Level | 'silent';
  return env.VITEST && !env.BLACKSTART_PARENT_PID ? 'warn' : 'info';
}

/** A logger named after its process; `destination` defaults to stdout, written synchronously. */
export function createLogger(name: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name,
      level: logLevel(),
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: stdSerializers.err, error: stdSerializers.err },
      base: { pid: process.pid },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** Sets the process's logger (runMain does, with the process's name). */
export function initLog(name: string, destination?: DestinationStream): Logger {
  root = createLogger(name, destination);
  return root;
}

/** The process's logger, or a child of it with `fields`. Take it where you log, not at import time. */
export function logger(fields?: LogFields): Logger {
  root ??= createLogger(process.argv[1]?.split('/').pop()?.replace(/\.js$/, '') ?? 'blackstart');
  return fields ? root.child(fields) : root;
}
