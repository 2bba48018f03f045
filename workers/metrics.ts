// The worker's /metrics: activities in flight and their durations by type (restoreCopy and
// rebuildCopy in flight are the restores and rebuilds), and the Temporal SDK's own metrics —
// the Rust core exports them on a loopback port, and this endpoint appends them, so one
// scrape target has both.
import type { Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import express from 'express';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { boundPort, listen } from '../common/listen.js';
import { newRegistry } from '../common/metrics.js';
import { logger } from '../common/log.js';

/** A free loopback port for the SDK's exporter (which cannot report the one it bound). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
  });
}

export function activityMetrics(registry: Registry): ActivityInterceptorsFactory {
  const inFlight = new Gauge({
    name: 'blackstart_activities_in_flight',
    help: 'Activities running on this worker by type and task queue',
    labelNames: ['activity', 'task_queue'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'blackstart_activity_duration_seconds',
    help: 'Activity attempt durations by type and outcome',
    labelNames: ['activity', 'outcome'],
    buckets: [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const labels = { activity: ctx.info.activityType, task_queue: ctx.info.taskQueue };
        inFlight.inc(labels);
        const end = duration.startTimer({ activity: ctx.info.activityType });
        try {
          const result = await next(input);
          end({ outcome: 'completed' });
          return result;
        } catch (err) {
          end({ outcome: 'failed' });
          throw err;
        } finally {
          inFlight.dec(labels);
        }
      },
    },
  });
}

/** Serves this registry, followed by the SDK exporter's text, at /metrics. */
export async function serveWorkerMetrics(registry: Registry, port: number, bind: string, sdkPort: number): Promise<Server> {
  const app = express();
  app.get('/metrics', (_req, res, next) => {
    const sdk = fetch(`http://127.0.0.1:${sdkPort}/metrics`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.text(),
      () => '',
    );
    Promise.all([registry.metrics(), sdk]).then(([ours, theirs]) => void res.type(registry.contentType).send(`${ours}\n${theirs}`), next);
  });
  const server = await listen(app, port, bind);
  logger().info({ port: boundPort(server) }, `worker metrics on http://${bind}:${boundPort(server)}/metrics`);
  return server;
}

export function workerRegistry(): Registry {
  return newRegistry('worker');
}
