// Prometheus metrics shared by the API, the worker and the storage nodes (prom-client): one
// registry per process with the process's default metrics, a request-latency histogram for
// express apps, and the handler that serves the text format.
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export function newRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'blackstart_' });
  return registry;
}

/** Observes every answered request by method, route template and status; unmatched routes share one label. */
export function httpLatency(registry: Registry) {
  const histogram = new Histogram({
    name: 'blackstart_http_request_duration_seconds',
    help: 'HTTP request latency, from arrival to the last byte of the answer',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = histogram.startTimer();
    res.on('close', () => {
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

export function metricsHandler(registry: Registry) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    registry.metrics().then((text) => void res.type(registry.contentType).send(text), next);
  };
}
