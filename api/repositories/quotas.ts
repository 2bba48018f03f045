// Per-customer quotas (operator-set limits) and what a customer holds against them.
import type { Db, Tx } from './db.js';

export interface QuotaLimits {
  maxVolumes: number | null;
  maxBytes: number | null;
  maxSnapshots: number | null;
}

export interface QuotaUsage {
  volumes: number;
  bytes: number;
  snapshots: number;
}

const NONE: QuotaLimits = { maxVolumes: null, maxBytes: null, maxSnapshots: null };

/** The operator's limits for the customer; null fields fall back to the configured defaults. */
export async function getQuotaLimits(db: Db | Tx, customerId: string): Promise<QuotaLimits> {
  const { rows } = await db.query('select max_volumes, max_bytes, max_snapshots from customer_quotas where customer_id = $1', [customerId]);
  const r = rows[0];
  if (!r) return NONE;
  const num = (v: unknown) => (v === null ? null : Number(v));
  return { maxVolumes: num(r.max_volumes), maxBytes: num(r.max_bytes), maxSnapshots: num(r.max_snapshots) };
}

export async function setQuotaLimits(db: Db, customerId: string, q: QuotaLimits): Promise<void> {
  await db.query(
    `insert into customer_quotas (customer_id, max_volumes, max_bytes, max_snapshots) values ($1, $2, $3, $4)
     on conflict (customer_id) do update set max_volumes = $2, max_bytes = $3, max_snapshots = $4, updated_at = now()`,
    [customerId, q.maxVolumes, q.maxBytes, q.maxSnapshots],
  );
}

/**
 * What counts against the quota: volumes not deleted and not in `error` (a failed create holds
 * nothing); their bytes unless archived (then they live in the snapshot store, counted as
 * snapshots); snapshots kept or pending.
 */
export async function quotaUsage(db: Db | Tx, customerId: string): Promise<QuotaUsage> {
  const { rows } = await db.query(
    `select (select count(*)::int from volumes where customer_id = $1 and state not in ('deleted', 'error')) as volumes,
            (select coalesce(sum(size_bytes), 0)::bigint from volumes where customer_id = $1 and state not in ('deleted', 'error', 'archived')) as bytes,
            (select count(*)::int from snapshots where customer_id = $1 and not deleted and state <> 'error') as snapshots`,
    [customerId],
  );
  return { volumes: rows[0].volumes, bytes: Number(rows[0].bytes), snapshots: rows[0].snapshots };
}

/** Serializes quota checks for one customer until the transaction ends: two creates cannot both take the last room. */
export async function lockCustomer(tx: Tx, customerId: string): Promise<boolean> {
  const { rowCount } = await tx.query('select id from customers where id = $1 for update', [customerId]);
  return rowCount === 1;
}
