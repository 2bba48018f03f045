// Customer API: /v1/webhook and /v1/events
import express, { Router } from 'express';
import { customerAuth, customerId } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { EventFeedQuery, WebhookBody, eventFeed, removeWebhook, setWebhook, showWebhook } from '../use-cases/notifications.js';
import { handle } from './handler.js';

export function notificationRoutes(deps: Deps): Router {
  const r = Router();
  r.use(['/v1/webhook', '/v1/events'], customerAuth(deps.db));

  r.put('/v1/webhook', express.json({ limit: '16kb' }), handle((req, res) => setWebhook(deps, customerId(res), WebhookBody.parse(req.body))));
  r.get('/v1/webhook', handle((_req, res) => showWebhook(deps, customerId(res))));
  r.delete('/v1/webhook', handle((_req, res) => removeWebhook(deps, customerId(res))));
  r.get('/v1/events', handle((req, res) => eventFeed(deps, customerId(res), EventFeedQuery.parse(req.query))));
  return r;
}
