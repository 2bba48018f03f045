// Snapshot records: what the customer API lists. The bytes and manifests live in the snapshot store.
import type { SnapshotKind } from '../../common/types.js';
import type { Db, Tx } from './db.js';

export type SnapshotState = 'pending' | 'completed' | 'error';

export interface SnapshotRow {
  id: string;
  volumeId: string;
  customerId: string;
  kind: SnapshotKind;
  state: SnapshotState;
  sizeBytes: number;
  epoch: number | null;
  writeSeq: number | null;
  digest: string | null;
  parentId: string | null;
  uploadedChunks: number | null;
  error: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

function toRow(r: Record<string, unknown>): SnapshotRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: r.id as string,
    volumeId: r.volume_id as string,
    customerId: r.customer_id as string,
    kind: r.kind as SnapshotKind,
    state: r.state as SnapshotState,
    sizeBytes: Number(r.size_bytes),
    epoch: num(r.epoch),
    writeSeq: num(r.write_seq),
    digest: (r.digest as string | null) ?? null,
    parentId: (r.parent_id as string | null) ?? null,
    uploadedChunks: num(r.uploaded_chunks),
    error: (r.error as string | null) ?? null,
    createdAt: r.created_at as Date,
    completedAt: (r.completed_at as Date | null) ?? null,
  };
}

export async function insertSnapshot(
  db: Db | Tx,
  s: { id: string; volumeId: string; customerId: string; kind: SnapshotKind; sizeBytes: number },
): Promise<void> {
  await db.query(
    `insert into snapshots (id, volume_id, customer_id, kind, state, size_bytes) values ($1, $2, $3, $4, 'pending', $5) on conflict (id) do nothing`,
    [s.id, s.volumeId, s.customerId, s.kind, s.sizeBytes],
  );
}

export async function completeSnapshot(
  db: Db | Tx,
  id: string,
  m: { epoch: number; writeSeq: number; digest: string; parentId: string | null; uploadedChunks: number },
): Promise<void> {
  await db.query(
    `update snapshots set state = 'completed', epoch = $2, write_seq = $3, digest = $4, parent_id = $5, uploaded_chunks = $6, completed_at = now()
     where id = $1 and state <> 'completed'`,
    [id, m.epoch, m.writeSeq, m.digest, m.parentId, m.uploadedChunks],
  );
}

export async function failSnapshot(db: Db | Tx, id: string, error: string): Promise<void> {
  await db.query(`update snapshots set state = 'error', error = $2, completed_at = now() where id = $1 and state = 'pending'`, [id, error]);
}

/** Any customer's snapshot: for the control plane's own work, never for a customer's request. */
export async function getSnapshot(db: Db | Tx, id: string): Promise<SnapshotRow | null> {
  const { rows } = await db.query('select * from snapshots where id = $1 and not deleted', [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** A customer's snapshot; another customer's is not found. The tenant is required. */
export async function getCustomerSnapshot(db: Db | Tx, id: string, customerId: string): Promise<SnapshotRow | null> {
  const { rows } = await db.query('select * from snapshots where id = $1 and not deleted and customer_id = $2', [id, customerId]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** Takes back a snapshot record its request was refused for: nothing refers to it yet. */
export async function discardPendingSnapshot(db: Db | Tx, id: string): Promise<void> {
  await db.query(`delete from snapshots where id = $1 and state = 'pending'`, [id]);
}

/** Snapshots a customer asked for on this volume (manual or review) that are pending or kept. */
export async function countRequestedSnapshots(db: Db | Tx, volumeId: string): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from snapshots where volume_id = $1 and kind in ('manual', 'review') and state <> 'error' and not deleted`,
    [volumeId],
  );
  return rows[0].n as number;
}

export async function listSnapshots(db: Db | Tx, volumeId: string): Promise<SnapshotRow[]> {
  const { rows } = await db.query(`select * from snapshots where volume_id = $1 and not deleted order by created_at, id`, [volumeId]);
  return rows.map(toRow);
}

export async function markSnapshotDeleted(db: Db | Tx, id: string): Promise<void> {
  await db.query('update snapshots set deleted = true where id = $1', [id]);
}
