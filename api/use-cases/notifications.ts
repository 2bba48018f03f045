// Customer notification stories: the webhook (set, show, delete) and the event feed.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import { Count } from '../routes/query.js';
import { listCustomerEvents, type VolumeEventRow } from '../repositories/events.js';
import { deleteWebhook, deliveryCounts, getWebhook, upsertWebhook } from '../repositories/webhooks.js';
import { resolveWebhookTarget, WebhookTargetError } from '../webhook-target.js';
import type { Deps } from './deps.js';

export const WebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
});

export const EventFeedQuery = z.strictObject({
  after: Count.default(0),
  limit: Count.pipe(z.number().min(1).max(500)).default(100),
});

/** Sets the webhook with a fresh secret: every PUT rotates it, and answers it once. */
export async function setWebhook(deps: Deps, customerId: string, body: z.infer<typeof WebhookBody>) {
  await checkWebhookUrl(deps, body.url);
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  await upsertWebhook(deps.db, customerId, body.url, secret);
  return { url: body.url, secret };
}

/** The URL must reach a public address now (each delivery checks again, and connects to what it checked). */
async function checkWebhookUrl(deps: Deps, url: string): Promise<void> {
  try {
    await resolveWebhookTarget(new URL(url), deps.config.webhooks.allowHosts);
  } catch (err) {
    if (err instanceof WebhookTargetError) throw new AppError(400, 'forbidden-webhook-url', err.message);
    throw err;
  }
}

export async function showWebhook(deps: Deps, customerId: string) {
  const webhook = await getWebhook(deps.db, customerId);
  if (!webhook) throw notFound('webhook');
  return { url: webhook.url, createdAt: webhook.createdAt.toISOString(), deliveries: await deliveryCounts(deps.db, customerId) };
}

export async function removeWebhook(deps: Deps, customerId: string) {
  if (!(await deleteWebhook(deps.db, customerId))) throw notFound('webhook');
  return { deleted: true };
}

/** The customer's volume events across all its volumes, in id order; `next` is the cursor to pass as `after`. */
export async function eventFeed(deps: Deps, customerId: string, query: z.infer<typeof EventFeedQuery>) {
  const events = await listCustomerEvents(deps.db, customerId, query.after, query.limit);
  return { events: events.map(feedEvent), next: events.at(-1)?.id ?? query.after };
}

function feedEvent(e: VolumeEventRow) {
  return {
    eventId: e.id,
    volumeId: e.volumeId,
    code: e.code,
    description: e.description,
    proof: e.proof,
    startedAt: e.startedAt.toISOString(),
    endedAt: e.endedAt?.toISOString() ?? null,
  };
}
