// Volume events in the shape of EBS DescribeVolumeStatus events, with start and end times.
// Each change to an event also queues, in the same statement, a notification for the volume's
// owner when that customer has a webhook (the outbox in notifications.ts).
import type { Db, Tx } from './db.js';

/** The EBS event a recovered volume carries until I/O is enabled again. */
export const INCONSISTENCY_EVENT = 'potential-data-inconsistency';

export type EventChange = 'opened' | 'ended' | 'recorded';

export interface VolumeEventRow {
  id: number;
  volumeId: string;
  code: string;
  description: string;
  proof: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

function toRow(r: Record<string, unknown>): VolumeEventRow {
  return {
    id: Number(r.id),
    volumeId: r.volume_id as string,
    code: r.code as string,
    description: r.description as string,
    proof: (r.proof as string | null) ?? null,
    startedAt: r.started_at as Date,
    endedAt: (r.ended_at as Date | null) ?? null,
  };
}

const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Queues one notification per event row in the CTE `ev` whose volume's owner has a webhook. */
function notifyOwners(kind: EventChange): string {
  return `insert into notifications (customer_id, event_id, payload)
    select w.customer_id, ev.id, jsonb_build_object(
      'eventId', ev.id, 'volumeId', ev.volume_id, 'code', ev.code, 'description', ev.description, 'proof', ev.proof,
      'startedAt', ${iso('ev.started_at')}, 'endedAt', ${iso('ev.ended_at')}, 'kind', '${kind}'::text)
    from ev join volumes v on v.id = ev.volume_id join webhooks w on w.customer_id = v.customer_id`;
}

/** Opens an event unless one with the same code is already open for the volume. */
export async function openEvent(db: Db | Tx, volumeId: string, code: string, description: string): Promise<void> {
  await db.query(
    `with ev as (
       insert into volume_events (volume_id, code, description)
       select $1, $2, $3 where not exists (select 1 from volume_events where volume_id = $1 and code = $2 and ended_at is null)
       returning *)
     ${notifyOwners('opened')}`,
    [volumeId, code, description],
  );
}

/** Ends the open event with this code, giving its final description and the proof behind it. */
export async function endEvent(db: Db | Tx, volumeId: string, code: string, description: string, proof: string | null): Promise<void> {
  await db.query(
    `with ev as (
       update volume_events set description = $3, proof = $4, ended_at = now()
       where volume_id = $1 and code = $2 and ended_at is null
       returning *)
     ${notifyOwners('ended')}`,
    [volumeId, code, description, proof],
  );
}

/** Records a finished event (start = end): a failover, a deletion, an automatic decision. */
export async function recordEvent(
  db: Db | Tx,
  volumeId: string,
  code: string,
  description: string,
  proof: string | null = null,
): Promise<void> {
  await db.query(
    `with ev as (
       insert into volume_events (volume_id, code, description, proof, ended_at) values ($1, $2, $3, $4, now())
       returning *)
     ${notifyOwners('recorded')}`,
    [volumeId, code, description, proof],
  );
}

export async function listEvents(db: Db, volumeId: string): Promise<VolumeEventRow[]> {
  const { rows } = await db.query('select * from volume_events where volume_id = $1 order by id', [volumeId]);
  return rows.map(toRow);
}

/** The events of every volume the customer owns, in id order after the cursor `afterId`. */
export async function listCustomerEvents(db: Db, customerId: string, afterId: number, limit: number): Promise<VolumeEventRow[]> {
  const { rows } = await db.query(
    `select e.* from volume_events e join volumes v on v.id = e.volume_id
     where v.customer_id = $1 and e.id > $2 order by e.id limit $3`,
    [customerId, afterId, limit],
  );
  return rows.map(toRow);
}
