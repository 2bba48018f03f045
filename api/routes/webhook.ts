// Customer API: /v1/webhook
import express, { Router } from 'express';
import { customerAuth, customerId } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { WebhookBody, removeWebhook, setWebhook, showWebhook } from '../use-cases/notifications.js';
import { handle } from './handler.js';
import { query } from './query.js';

export function webhookRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/v1/webhook', customerAuth(deps.db, deps.dataPath.requests));
  r.put(
    '/v1/webhook',
    query(),
    express.json({ limit: '16kb' }),
    handle((req, res) => setWebhook(deps, customerId(res), WebhookBody.parse(req.body))),
  );
  r.get(
    '/v1/webhook',
    query(),
    handle((_req, res) => showWebhook(deps, customerId(res))),
  );
  r.delete(
    '/v1/webhook',
    query(),
    handle((_req, res) => removeWebhook(deps, customerId(res))),
  );
  return r;
}
