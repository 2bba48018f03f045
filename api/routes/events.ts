// Customer API: /v1/events, the feed of the customer's volume events
import { Router } from 'express';
import { customerAuth, customerId } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { EventFeedQuery, eventFeed } from '../use-cases/notifications.js';
import { handle } from './handler.js';

export function eventRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/v1/events', customerAuth(deps.db, deps.dataPath.requests));
  r.get(
    '/v1/events',
    handle((req, res) => eventFeed(deps, customerId(res), EventFeedQuery.parse(req.query))),
  );
  return r;
}
