// Delivers the notification outbox to customers' webhooks. Rows are claimed in one short
// statement and delivered outside any transaction (a slow webhook holds no transaction open), at
// most `concurrency` at once, each bounded by a timeout, so a receiver that hangs or is down
// holds up neither the API nor other customers' deliveries beyond its own slots.
import { logger } from '../common/log.js';
import { EVENT_ID_HEADER, retryDelayMs, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../common/webhooks.js';
import type { WebhookConfig } from './config.js';
import { postWebhook } from './webhook-target.js';
import type { Db } from './repositories/db.js';
import { claimDueNotifications, markAttemptFailed, markDelivered, type ClaimedNotification } from './repositories/notifications.js';

export function startNotifier(db: Db, config: WebhookConfig): () => Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let claiming = false;
  const timer = setInterval(() => {
    const room = config.concurrency - inFlight.size;
    if (claiming || room <= 0) return;
    claiming = true;
    // The lease outlives the request, so a row is never claimed twice while in flight.
    claimDueNotifications(db, room, 2 * config.timeoutMs)
      .then((claimed) => claimed.forEach((n) => track(inFlight, deliverOne(db, config, n, stopping.signal))))
      .catch((err: Error) => logger({ component: 'notifier' }).error({ err }, 'notifier: claiming due notifications failed'))
      .finally(() => (claiming = false));
  }, config.pollMs);

  return async () => {
    clearInterval(timer);
    stopping.abort();
    await Promise.allSettled(inFlight);
  };
}

function track(inFlight: Set<Promise<void>>, delivery: Promise<void>): void {
  inFlight.add(delivery);
  void delivery.finally(() => inFlight.delete(delivery));
}

async function deliverOne(db: Db, config: WebhookConfig, n: ClaimedNotification, stopping: AbortSignal): Promise<void> {
  try {
    const error = await post(n, config, stopping);
    // Cut off by shutdown: not the receiver's failure; the row comes due again when its lease ends.
    if (stopping.aborted) return;
    if (error === null) return await markDelivered(db, n.id);
    const attempts = n.attempts + 1;
    const retryIn = attempts >= config.maxAttempts ? null : retryDelayMs(attempts, config.retryBaseMs, config.retryCapMs);
    await markAttemptFailed(db, n.id, error, retryIn);
  } catch (err) {
    logger({ component: 'notifier', volumeId: (n.payload as { volumeId?: string }).volumeId }).error(
      { err, notificationId: n.id },
      'notifier: delivery bookkeeping failed',
    );
  }
}

/** POSTs the signed payload to the checked, pinned address; null when the receiver answered 2xx, else why not. */
async function post(n: ClaimedNotification, config: WebhookConfig, stopping: AbortSignal): Promise<string | null> {
  const body = JSON.stringify(n.payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const status = await postWebhook(n.url, {
      headers: {
        'content-type': 'application/json',
        [EVENT_ID_HEADER]: String(n.eventId),
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(n.secret, timestamp, body),
      },
      body,
      timeoutMs: config.timeoutMs,
      signal: stopping,
      allowHosts: config.allowHosts,
    });
    return status >= 200 && status < 300 ? null : `HTTP ${status}`;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return e.name === 'TimeoutError' ? `no answer within ${config.timeoutMs} ms` : `${e.message}${e.cause ? `: ${e.cause.message}` : ''}`;
  }
}
