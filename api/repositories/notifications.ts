// The notification outbox: rows queued with volume events (events.ts), claimed and settled by
// the notifier. A claim leases its rows by pushing next_attempt_at past the delivery timeout,
// so no other notifier takes them while they are in flight, and a crashed one's come due again.
import type { Db } from './db.js';

export interface ClaimedNotification {
  id: number;
  eventId: number;
  payload: unknown;
  attempts: number;
  url: string;
  secret: string;
}

/** Claims up to `limit` due notifications for `leaseMs`, oldest due first, in one statement. */
export async function claimDueNotifications(db: Db, limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
  const { rows } = await db.query(
    `update notifications n set next_attempt_at = now() + $2::int * interval '1 millisecond'
     from webhooks w
     where w.customer_id = n.customer_id and n.id in (
       select id from notifications
       where delivered_at is null and failed_at is null and next_attempt_at <= now()
       order by next_attempt_at, id limit $1
       for update skip locked)
     returning n.id, n.event_id, n.payload, n.attempts, w.url, w.secret`,
    [limit, leaseMs],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: Number(r.event_id),
    payload: r.payload,
    attempts: r.attempts,
    url: r.url,
    secret: r.secret,
  }));
}

export async function markDelivered(db: Db, id: number): Promise<void> {
  await db.query('update notifications set attempts = attempts + 1, delivered_at = now(), last_error = null where id = $1', [id]);
}

/** Records a failed attempt: retried after `retryInMs`, or given up on when `retryInMs` is null. */
export async function markAttemptFailed(db: Db, id: number, error: string, retryInMs: number | null): Promise<void> {
  await db.query(
    `update notifications set attempts = attempts + 1, last_error = $2,
       next_attempt_at = case when $3::bigint is null then next_attempt_at else now() + $3::bigint * interval '1 millisecond' end,
       failed_at = case when $3::bigint is null then now() end
     where id = $1`,
    [id, error.slice(0, 1000), retryInMs],
  );
}
