// The Temporal SDK's logger backed by pino: the worker's own lines, the Rust core's (forwarded),
// activities' Context.log and workflows' `log` (a sink, not called on replay) all leave the
// worker as JSON with the SDK's metadata (workflowId, runId, activityType, taskQueue…) as fields.
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Log } from '../common/log.js';

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

export function temporalLogger(log: Log): TemporalLogger {
  // An activity's task token completes it: it stays out of the logs.
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => log[LEVELS[level]]({ ...meta, taskToken: undefined }, message);
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/** Installs the Runtime with the pino-backed logger (core warnings forwarded) and the SDK's Prometheus exporter. */
export function installRuntime(log: Log, sdkMetricsPort: number): void {
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'WARN' }), forward: {} },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } },
    },
  });
}
