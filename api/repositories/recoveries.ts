// Admitted recovery reports: one row per server incident.
import type { Db, Tx } from './db.js';

export interface RecoveryRow {
  id: number;
  nodeId: string;
  workflowId: string;
  replicas: number;
  admittedAt: Date;
  inServiceAt: Date | null;
}

function toRow(r: Record<string, unknown>): RecoveryRow {
  return {
    id: Number(r.id),
    nodeId: r.node_id as string,
    workflowId: r.workflow_id as string,
    replicas: r.replicas as number,
    admittedAt: r.admitted_at as Date,
    inServiceAt: (r.in_service_at as Date | null) ?? null,
  };
}

export async function insertRecovery(
  tx: Tx,
  nodeId: string,
  replicas: number,
  workflowIdFor: (id: number) => string,
): Promise<RecoveryRow> {
  const { rows } = await tx.query(`select nextval('recovery_events_id_seq') as id`);
  const id = Number(rows[0].id);
  const inserted = await tx.query(
    // clock_timestamp(), not now(): the transaction may have begun before it waited for the admission lock.
    'insert into recovery_events (id, node_id, workflow_id, replicas, admitted_at) values ($1, $2, $3, $4, clock_timestamp()) returning *',
    [id, nodeId, workflowIdFor(id), replicas],
  );
  return toRow(inserted.rows[0]);
}

/** The node's incident still before its return to service, if any. */
export async function openRecoveryFor(db: Db | Tx, nodeId: string): Promise<RecoveryRow | null> {
  const { rows } = await db.query('select * from recovery_events where node_id = $1 and in_service_at is null order by id desc limit 1', [
    nodeId,
  ]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function markInService(db: Db, workflowId: string): Promise<void> {
  await db.query('update recovery_events set in_service_at = coalesce(in_service_at, now()) where workflow_id = $1', [workflowId]);
}

export async function listRecoveries(db: Db, limit: number): Promise<RecoveryRow[]> {
  const { rows } = await db.query('select * from recovery_events order by id desc limit $1', [limit]);
  return rows.map(toRow);
}
