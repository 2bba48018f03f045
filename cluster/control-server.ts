// A loopback endpoint of `npm start` through which the CLI power-fails and restores nodes.
import express from 'express';
import type { Server } from 'node:http';
import { safeEqual } from '../common/tokens.js';
import { listen } from '../common/listen.js';
import type { LocalCluster } from './local-cluster.js';

const LEVELS = ['node', 'dc', 'zone', 'router', 'power', 'host'] as const;

export function startControlServer(cluster: LocalCluster, port: number): Promise<Server> {
  const app = express();
  app.use(express.json({ limit: '4kb' }));
  app.use((req, res, next) => {
    if (safeEqual(req.headers.authorization ?? '', `Bearer ${cluster.operatorToken}`)) return next();
    res.status(401).json({ error: { code: 'unauthenticated', message: 'the operator token is required' } });
  });
  const action =
    (fn: (level: (typeof LEVELS)[number], name: string) => Promise<string[]>) => (req: express.Request, res: express.Response) => {
      const { level, name } = req.body ?? {};
      if (!LEVELS.includes(level) || typeof name !== 'string') {
        return void res
          .status(400)
          .json({ error: { code: 'invalid-request', message: `level must be one of ${LEVELS.join(', ')} and name a string` } });
      }
      fn(level, name).then(
        (nodes) => res.json({ nodes }),
        (err: Error) => res.status(404).json({ error: { code: 'not-found', message: err.message } }),
      );
    };
  app.post(
    '/power-fail',
    action((level, name) => cluster.powerFail(level, name)),
  );
  app.post(
    '/restore',
    action((level, name) => cluster.restore(level, name)),
  );
  return listen(app, port);
}
