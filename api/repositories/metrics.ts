// What /metrics reports from the inventory: counts only, one short statement each.
import type { Db } from './db.js';

export interface InventoryCounts {
  nodesByState: Record<string, number>;
  replicasByState: Record<string, number>;
  openRecoveries: number;
  admissionWaiting: number;
  rejections: number;
  failovers: number;
  deliveries: { pending: number; delivered: number; failed: number };
  /** Nodes silent for half the timeout, or down: what the mass-outage breaker counts. */
  unreachable: number;
}

async function byState(db: Db, table: 'nodes' | 'replicas'): Promise<Record<string, number>> {
  const { rows } = await db.query(`select state, count(*)::int as n from ${table} group by state`);
  return Object.fromEntries(rows.map((r) => [r.state as string, r.n as number]));
}

export async function inventoryCounts(db: Db, heartbeatTimeoutMs: number, admissionWindowMs: number): Promise<InventoryCounts> {
  const { rows } = await db.query(
    `select
       (select count(*)::int from recovery_events where in_service_at is null) as open_recoveries,
       (select count(*)::int from nodes where rejected_at > now() - make_interval(secs => $2::double precision / 1000)) as waiting,
       (select coalesce(sum(rejections), 0)::int from nodes) as rejections,
       (select count(*)::int from volume_events where code = 'failover') as failovers,
       (select count(*)::int from nodes where state = 'down' or (state = 'in-service'
          and last_heartbeat < now() - make_interval(secs => $1::double precision / 2000))) as unreachable,
       (select count(*)::int from notifications where delivered_at is null and failed_at is null) as pending,
       (select count(*)::int from notifications where delivered_at is not null) as delivered,
       (select count(*)::int from notifications where failed_at is not null) as failed`,
    [heartbeatTimeoutMs, admissionWindowMs],
  );
  const r = rows[0];
  return {
    nodesByState: await byState(db, 'nodes'),
    replicasByState: await byState(db, 'replicas'),
    openRecoveries: r.open_recoveries,
    admissionWaiting: r.waiting,
    rejections: r.rejections,
    failovers: r.failovers,
    deliveries: { pending: r.pending, delivered: r.delivered, failed: r.failed },
    unreachable: r.unreachable,
  };
}
