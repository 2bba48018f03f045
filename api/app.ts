// The control plane's HTTP application: routes per resource, one error middleware.
import express from 'express';
import { logger } from '../common/log.js';
import { httpLatency, metricsHandler } from '../common/metrics.js';
import { requestLog } from '../common/request-log.js';
import { consoleCors } from './console-cors.js';
import { AppError, errorMiddleware } from './errors.js';
import { apiMetrics } from './metrics.js';
import { consoleRoutes } from './routes/console.js';
import { eventRoutes } from './routes/events.js';
import { nodeRoutes } from './routes/nodes.js';
import { openApiRoutes } from './routes/openapi.js';
import { operatorRoutes } from './routes/operator.js';
import { operatorViewRoutes } from './routes/operator-views.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { volumeRoutes } from './routes/volumes.js';
import { webhookRoutes } from './routes/webhook.js';
import type { Deps } from './use-cases/deps.js';

export function createApp(deps: Deps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const metrics = apiMetrics(deps);
  app.use(httpLatency(metrics));
  app.use(requestLog(() => logger()));
  app.get('/metrics', metricsHandler(metrics));
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.use('/v1', consoleCors(deps.config.consoleApiUrls));
  app.use(openApiRoutes());
  app.use(consoleRoutes(deps));
  app.use(nodeRoutes(deps));
  app.use(operatorRoutes(deps));
  app.use(operatorViewRoutes(deps));
  app.use(volumeRoutes(deps));
  app.use(snapshotRoutes(deps));
  app.use(webhookRoutes(deps));
  app.use(eventRoutes(deps));
  app.use((_req, _res, next) => next(new AppError(404, 'not-found', 'no such endpoint')));
  app.use(errorMiddleware);
  return app;
}
