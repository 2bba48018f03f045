// Each customer's webhook: where its notifications go and the secret that signs them.
import type { Db } from './db.js';

export interface WebhookRow {
  customerId: string;
  url: string;
  secret: string;
  createdAt: Date;
}

export interface DeliveryCounts {
  pending: number;
  delivered: number;
  failed: number;
}

/** Sets the customer's webhook, replacing its URL and secret when it has one. */
export async function upsertWebhook(db: Db, customerId: string, url: string, secret: string): Promise<void> {
  await db.query(
    `insert into webhooks (customer_id, url, secret) values ($1, $2, $3)
     on conflict (customer_id) do update set url = excluded.url, secret = excluded.secret`,
    [customerId, url, secret],
  );
}

export async function getWebhook(db: Db, customerId: string): Promise<WebhookRow | null> {
  const { rows } = await db.query('select * from webhooks where customer_id = $1', [customerId]);
  const r = rows[0];
  return r ? { customerId: r.customer_id, url: r.url, secret: r.secret, createdAt: r.created_at } : null;
}

/** Deletes the webhook and, by cascade, its notifications. True when there was one. */
export async function deleteWebhook(db: Db, customerId: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from webhooks where customer_id = $1', [customerId]);
  return rowCount === 1;
}

export async function deliveryCounts(db: Db, customerId: string): Promise<DeliveryCounts> {
  const { rows } = await db.query(
    `select count(*) filter (where delivered_at is null and failed_at is null)::int as pending,
            count(*) filter (where delivered_at is not null)::int as delivered,
            count(*) filter (where failed_at is not null)::int as failed
     from notifications where customer_id = $1`,
    [customerId],
  );
  return { pending: rows[0].pending, delivered: rows[0].delivered, failed: rows[0].failed };
}
