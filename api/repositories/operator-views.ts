// What the operator console reads beyond the operator API's lists: the review queue across
// customers, and copies per node.
import { INCONSISTENCY_EVENT } from './events.js';
import type { Db } from './db.js';

export interface OpenReviewRow {
  volumeId: string;
  customerId: string;
  sizeBytes: number;
  waitingSince: Date;
}

/** Every volume whose review waits for its owner, oldest first. */
export async function openReviews(db: Db): Promise<OpenReviewRow[]> {
  const { rows } = await db.query(
    `select v.id, v.customer_id, v.size_bytes, e.started_at from volume_events e join volumes v on v.id = e.volume_id
     where e.code = $1 and e.ended_at is null and v.state not in ('deleted', 'archived') order by e.started_at, e.id`,
    [INCONSISTENCY_EVENT],
  );
  return rows.map((r) => ({ volumeId: r.id, customerId: r.customer_id, sizeBytes: Number(r.size_bytes), waitingSince: r.started_at }));
}

/** Copies each node holds (not deleted), by node. */
export async function copiesByNode(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.query(`select node_id, count(*)::int as n from replicas where state <> 'deleted' group by node_id`);
  return Object.fromEntries(rows.map((r) => [r.node_id as string, r.n as number]));
}

/** Nodes down, or silent for half the heartbeat timeout (what the breaker counts; under a mass outage they are not marked down). */
export async function unreachableNodeIds(db: Db, heartbeatTimeoutMs: number): Promise<string[]> {
  const { rows } = await db.query(
    `select id from nodes where state = 'down' or (state = 'in-service'
       and last_heartbeat < now() - make_interval(secs => $1::double precision / 2000)) order by id`,
    [heartbeatTimeoutMs],
  );
  return rows.map((r) => r.id as string);
}
