// Admitted recovery reports: one row per server incident, numbered in admission order.
import type { OpenIncident } from '../../common/rules/incidents.js';
import type { Db, Tx } from './db.js';

export interface RecoveryRow {
  id: number;
  nodeId: string;
  workflowId: string;
  replicas: number;
  admittedAt: Date;
  inServiceAt: Date | null;
  scannedAt: string | null;
  supersededAt: Date | null;
  supersededBy: number | null;
  finishedAt: Date | null;
}

function toRow(r: Record<string, unknown>): RecoveryRow {
  return {
    id: Number(r.id),
    nodeId: r.node_id as string,
    workflowId: r.workflow_id as string,
    replicas: r.replicas as number,
    admittedAt: r.admitted_at as Date,
    inServiceAt: (r.in_service_at as Date | null) ?? null,
    scannedAt: (r.scanned_at as string | null) ?? null,
    supersededAt: (r.superseded_at as Date | null) ?? null,
    supersededBy: r.superseded_by === null || r.superseded_by === undefined ? null : Number(r.superseded_by),
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

/**
 * Serializes admissions with each other and with a node's return to service: an incident admitted
 * while another resumes the node is seen by one of them. Held until the transaction ends.
 */
export async function lockAdmission(tx: Tx): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(7233002)');
}

export async function insertRecovery(
  tx: Tx,
  nodeId: string,
  replicas: number,
  scannedAt: string,
  workflowIdFor: (id: number) => string,
): Promise<RecoveryRow> {
  const { rows } = await tx.query(`select nextval('recovery_events_id_seq') as id`);
  const id = Number(rows[0].id);
  const inserted = await tx.query(
    // clock_timestamp(), not now(): the transaction may have begun before it waited for the admission lock.
    `insert into recovery_events (id, node_id, workflow_id, replicas, scanned_at, admitted_at)
     values ($1, $2, $3, $4, $5, clock_timestamp()) returning *`,
    [id, nodeId, workflowIdFor(id), replicas, scannedAt],
  );
  return toRow(inserted.rows[0]);
}

/** The node's incidents neither finished nor superseded, oldest first. */
export async function openIncidentsOf(db: Db | Tx, nodeId: string): Promise<RecoveryRow[]> {
  const { rows } = await db.query(
    'select * from recovery_events where node_id = $1 and finished_at is null and superseded_at is null order by id',
    [nodeId],
  );
  return rows.map(toRow);
}

/** The node's newest incident admitted with the scan taken at `scannedAt`, open or not. */
export async function incidentWithScan(db: Db | Tx, nodeId: string, scannedAt: string): Promise<RecoveryRow | null> {
  const { rows } = await db.query('select * from recovery_events where node_id = $1 and scanned_at = $2 order by id desc limit 1', [
    nodeId,
    scannedAt,
  ]);
  return rows[0] ? toRow(rows[0]) : null;
}

export function asOpenIncident(r: RecoveryRow): OpenIncident {
  return { incident: r.id, scannedAt: r.scannedAt, inService: r.inServiceAt !== null };
}

export async function getRecovery(db: Db | Tx, id: number): Promise<RecoveryRow | null> {
  const { rows } = await db.query('select * from recovery_events where id = $1', [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** The node's newest incident number (0 when it has none). */
export async function newestIncidentOf(db: Db | Tx, nodeId: string): Promise<number> {
  const { rows } = await db.query('select coalesce(max(id), 0)::bigint as id from recovery_events where node_id = $1', [nodeId]);
  return Number(rows[0].id);
}

export async function markSuperseded(tx: Tx, ids: number[], by: number): Promise<void> {
  await tx.query(
    'update recovery_events set superseded_at = clock_timestamp(), superseded_by = $2 where id = any($1) and superseded_at is null',
    [ids, by],
  );
}

export async function markFinished(db: Db, workflowId: string): Promise<void> {
  await db.query('update recovery_events set finished_at = coalesce(finished_at, now()) where workflow_id = $1', [workflowId]);
}

export async function markInService(db: Db | Tx, workflowId: string): Promise<void> {
  await db.query('update recovery_events set in_service_at = coalesce(in_service_at, now()) where workflow_id = $1', [workflowId]);
}

export async function recoveryByWorkflow(db: Db | Tx, workflowId: string): Promise<RecoveryRow | null> {
  const { rows } = await db.query('select * from recovery_events where workflow_id = $1', [workflowId]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function listRecoveries(db: Db, limit: number): Promise<RecoveryRow[]> {
  const { rows } = await db.query('select * from recovery_events order by id desc limit $1', [limit]);
  return rows.map(toRow);
}
