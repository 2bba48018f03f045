// Volumes and their replicas: membership, epochs and the states recovery moves them through.
import { rejoinAnswer, type RejoinAnswer } from '../../common/rules/classify.js';
import { isHeldByRecovery } from '../../common/rules/incidents.js';
import type { InventoryVolume, IoState, ReplicaRole } from '../../common/types.js';
import { isHealthy, isMember, isRejoining } from '../../common/rules/health.js';
import { MEMBER_STATES, type NodeState, type ReplicaState, type VolumeState } from '../../common/states.js';
import { inTransaction, type Db, type Tx } from './db.js';

export interface VolumeRow {
  id: string;
  customerId: string;
  sizeBytes: number;
  blockSize: number;
  state: VolumeState;
  ioState: IoState;
  autoEnableIo: boolean;
  epoch: number;
  createdAt: Date;
  sourceSnapshotId: string | null;
  archiveSnapshotId: string | null;
}

export interface ReplicaRow {
  volumeId: string;
  nodeId: string;
  nodeUrl: string;
  /** Where the copy's node serves NBD ("host:port"). */
  nodeNbdAddress: string;
  nodeState: NodeState;
  /** The node process's boot id from its last heartbeat: it changes when the node restarts. */
  nodeBootId: string;
  /** The node's last heartbeat still vouches for it. */
  nodeFresh: boolean;
  role: ReplicaRole;
  epoch: number;
  writeSeq: number;
  state: ReplicaState;
}

function toVolume(r: Record<string, unknown>): VolumeRow {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    sizeBytes: Number(r.size_bytes),
    blockSize: r.block_size as number,
    state: r.state as VolumeState,
    ioState: r.io_state as IoState,
    autoEnableIo: r.auto_enable_io as boolean,
    epoch: r.epoch as number,
    createdAt: r.created_at as Date,
    sourceSnapshotId: (r.source_snapshot_id as string | null) ?? null,
    archiveSnapshotId: (r.archive_snapshot_id as string | null) ?? null,
  };
}

function toReplica(r: Record<string, unknown>): ReplicaRow {
  return {
    volumeId: r.volume_id as string,
    nodeId: r.node_id as string,
    nodeUrl: r.url as string,
    nodeNbdAddress: r.nbd_address as string,
    nodeState: r.node_state as NodeState,
    nodeBootId: r.boot_id as string,
    nodeFresh: r.node_fresh as boolean,
    role: r.role as ReplicaRole,
    epoch: r.epoch as number,
    writeSeq: Number(r.write_seq),
    state: r.state as ReplicaState,
  };
}

export async function insertVolume(
  tx: Tx,
  v: { id: string; customerId: string; sizeBytes: number; autoEnableIo: boolean; sourceSnapshotId: string | null },
  primary: string,
  secondary: string,
): Promise<void> {
  await tx.query(
    `insert into volumes (id, customer_id, size_bytes, state, auto_enable_io, source_snapshot_id) values ($1, $2, $3, 'creating', $4, $5)`,
    [v.id, v.customerId, v.sizeBytes, v.autoEnableIo, v.sourceSnapshotId],
  );
  await tx.query(
    `insert into replicas (volume_id, node_id, role, epoch, state) values ($1, $2, 'primary', 1, 'in-service'), ($1, $3, 'secondary', 1, 'in-service')`,
    [v.id, primary, secondary],
  );
}

/** A new copy (a rebuild target); a node that once held a deleted copy may hold the volume again. */
export async function upsertReplica(
  db: Db | Tx,
  volumeId: string,
  nodeId: string,
  role: ReplicaRole,
  epoch: number,
  state: ReplicaState,
): Promise<void> {
  await db.query(
    `insert into replicas (volume_id, node_id, role, epoch, state) values ($1, $2, $3, $4, $5)
     on conflict (volume_id, node_id) do update set role = $3, epoch = $4, state = $5, write_seq = 0, updated_at = now()`,
    [volumeId, nodeId, role, epoch, state],
  );
}

/** The archived volume whose bytes a snapshot holds, if any. */
export async function archivedVolumeOf(db: Db, snapshotId: string): Promise<string | null> {
  const { rows } = await db.query(`select id from volumes where archive_snapshot_id = $1 and state = 'archived'`, [snapshotId]);
  return (rows[0]?.id as string | undefined) ?? null;
}

export async function setVolumeState(db: Db | Tx, id: string, state: VolumeState): Promise<void> {
  await db.query('update volumes set state = $2 where id = $1', [id, state]);
}

/** Archived: the bytes are in the snapshot store, I/O stays held; the copies may go. */
export async function setVolumeArchived(tx: Tx, id: string, snapshotId: string): Promise<void> {
  await tx.query(`update volumes set state = 'archived', archive_snapshot_id = $2, io_state = 'paused' where id = $1`, [id, snapshotId]);
}

/** Any customer's volume: for the control plane's own work, never for a customer's request. */
export async function getVolume(db: Db | Tx, id: string): Promise<VolumeRow | null> {
  const { rows } = await db.query('select * from volumes where id = $1', [id]);
  return rows[0] ? toVolume(rows[0]) : null;
}

/** A customer's volume; another customer's volume is simply not found. The tenant is required. */
export async function getCustomerVolume(db: Db | Tx, id: string, customerId: string): Promise<VolumeRow | null> {
  const { rows } = await db.query('select * from volumes where id = $1 and customer_id = $2', [id, customerId]);
  return rows[0] ? toVolume(rows[0]) : null;
}

export async function lockVolume(tx: Tx, id: string): Promise<VolumeRow | null> {
  const { rows } = await tx.query('select * from volumes where id = $1 for update', [id]);
  return rows[0] ? toVolume(rows[0]) : null;
}

/** Locks many volumes, in one order so that two callers never wait on each other. */
export async function lockVolumes(tx: Tx, ids: string[]): Promise<void> {
  await tx.query('select id from volumes where id = any($1) order by id for update', [ids]);
}

export async function listVolumes(db: Db, customerId: string): Promise<VolumeRow[]> {
  const { rows } = await db.query(`select * from volumes where customer_id = $1 and state <> 'deleted' order by created_at, id`, [
    customerId,
  ]);
  return rows.map(toVolume);
}

export async function setAutoEnableIo(db: Db, id: string, value: boolean): Promise<void> {
  await db.query('update volumes set auto_enable_io = $2 where id = $1', [id, value]);
}

export async function replicasOf(db: Db | Tx, volumeId: string): Promise<ReplicaRow[]> {
  const { rows } = await db.query(
    `select r.*, n.url, n.nbd_address, n.state as node_state, n.boot_id, n.fresh_until > now() as node_fresh from replicas r join nodes n on n.id = r.node_id
     where r.volume_id = $1 order by r.role, r.node_id`,
    [volumeId],
  );
  return rows.map(toReplica);
}

/** The inventory's view of each volume, for classifying a recovering node's copies. */
export async function inventoryFor(db: Db | Tx, volumeIds: string[]): Promise<Map<string, InventoryVolume>> {
  const result = new Map<string, InventoryVolume>();
  if (volumeIds.length === 0) return result;
  const { rows } = await db.query('select * from volumes where id = any($1)', [volumeIds]);
  for (const v of rows.map(toVolume)) {
    const members = (await replicasOf(db, v.id)).filter(isMember);
    result.set(v.id, {
      volumeId: v.id,
      deleted: v.state === 'deleted' || v.state === 'deleting',
      epoch: v.epoch,
      members: members.map((m) => ({
        nodeId: m.nodeId,
        role: m.role,
        epoch: m.epoch,
        healthy: isHealthy(m),
        held: isHeldByRecovery(m.state),
        rejoining: isRejoining(m),
      })),
    });
  }
  return result;
}

export async function memberVolumesOnNode(db: Db, nodeId: string): Promise<string[]> {
  const { rows } = await db.query('select volume_id from replicas where node_id = $1 and state = any($2) order by volume_id', [
    nodeId,
    MEMBER_STATES,
  ]);
  return rows.map((r) => r.volume_id as string);
}

export async function setReplicaState(
  db: Db | Tx,
  volumeId: string,
  nodeId: string,
  state: ReplicaState,
  writeSeq?: number,
): Promise<void> {
  await db.query(
    `update replicas set state = $3, write_seq = coalesce($4, write_seq), updated_at = now() where volume_id = $1 and node_id = $2`,
    [volumeId, nodeId, state, writeSeq ?? null],
  );
}

/**
 * Moves a copy the investigation kept into 'candidate', unless a volume recovery already moved it
 * on. A copy still `rebuilding` is taken too, in the same statement that a failed rebuild's
 * abandon races with (`abandonRebuild` moves only `rebuilding`): either the recovery holds the
 * copy, and the rebuild's deletion is refused, or the copy left the membership first, and it is
 * not offered (chaos compound seed 101206 scenario 63: a recovery elected a copy still recorded
 * `rebuilding`, and the rebuild's abandon deleted it). Under the volume's lock, so that a peer's
 * rejoin (`markRejoined`) sees it or is seen by it. True when a recovery holds the copy.
 */
export async function markCandidate(db: Db, volumeId: string, nodeId: string, writeSeq: number): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    await lockVolume(tx, volumeId);
    return holdCandidate(tx, volumeId, nodeId, writeSeq);
  });
}

/** markCandidate's change, for a caller that holds the volume's lock. */
export async function holdCandidate(tx: Tx, volumeId: string, nodeId: string, writeSeq: number): Promise<boolean> {
  await tx.query(
    `update replicas set state = 'candidate', write_seq = $3, updated_at = now()
     where volume_id = $1 and node_id = $2 and state in ('in-service', 'recovering', 'rebuilding')`,
    [volumeId, nodeId, writeSeq],
  );
  const { rows } = await tx.query(`select state from replicas where volume_id = $1 and node_id = $2`, [volumeId, nodeId]);
  return rows.length === 1 && isHeldByRecovery(rows[0].state as ReplicaState);
}

/** A node's report was admitted: its serving copies are now under investigation. */
export async function markNodeReplicasRecovering(tx: Tx, nodeId: string): Promise<void> {
  await tx.query(`update replicas set state = 'recovering', updated_at = now() where node_id = $1 and state = 'in-service'`, [nodeId]);
}

/** The copy that serves the volume's I/O, as the data path should address it. */
export async function primaryOf(db: Db, volumeId: string): Promise<ReplicaRow | null> {
  const replicas = await replicasOf(db, volumeId);
  return replicas.find((r) => r.role === 'primary' && isMember(r)) ?? null;
}

export async function setVolumeEpoch(tx: Tx, volumeId: string, epoch: number, ioState: IoState): Promise<void> {
  await tx.query('update volumes set epoch = $2, io_state = $3 where id = $1', [volumeId, epoch, ioState]);
}

export async function setReplicaMembership(
  tx: Tx,
  volumeId: string,
  nodeId: string,
  role: ReplicaRole,
  epoch: number,
  state: ReplicaState,
): Promise<void> {
  await tx.query('update replicas set role = $3, epoch = $4, state = $5, updated_at = now() where volume_id = $1 and node_id = $2', [
    volumeId,
    nodeId,
    role,
    epoch,
    state,
  ]);
}

/** Every other member leaves the volume: stale copies are deleted when their node reports. */
export async function retireOtherMembers(tx: Tx, volumeId: string, keepNodeId: string): Promise<void> {
  await tx.query(`update replicas set state = 'stale', updated_at = now() where volume_id = $1 and node_id <> $2 and state = any($3)`, [
    volumeId,
    keepNodeId,
    MEMBER_STATES,
  ]);
}

/** A recovering copy serves again as it was, under the volume's lock (`rejoinAnswer`). */
export async function markRejoined(db: Db, volumeId: string, nodeId: string): Promise<RejoinAnswer> {
  return inTransaction(db, async (tx) => {
    await lockVolume(tx, volumeId);
    const answer = rejoinAnswer(nodeId, await replicasOf(tx, volumeId));
    if (answer === true) {
      await tx.query(`update replicas set state = 'in-service', updated_at = now() where volume_id = $1 and node_id = $2`, [
        volumeId,
        nodeId,
      ]);
    }
    return answer;
  });
}

/**
 * A rebuilt copy serves as the secondary; false when the volume moved on (another epoch) or its
 * primary no longer serves (a recovery holds it): a secondary never serves without its primary.
 * Any other secondary serving or recovering leaves the membership: the rebuild re-pointed the
 * primary's mirror to the new copy, so the old one misses every write since, and a failover must
 * never choose it (chaos seed 81206 scenario 48 lost an acknowledged write that way).
 */
export async function markRebuilt(db: Db, volumeId: string, nodeId: string, epoch: number): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const { rowCount } = await tx.query(
      `update replicas set state = 'in-service', updated_at = now()
       where volume_id = $1 and node_id = $2 and state = 'rebuilding' and epoch = $3
         and exists (select 1 from replicas p where p.volume_id = $1 and p.role = 'primary' and p.state = 'in-service' and p.epoch = $3)`,
      [volumeId, nodeId, epoch],
    );
    if (rowCount !== 1) return false;
    await tx.query(
      `update replicas set state = 'stale', updated_at = now()
       where volume_id = $1 and node_id <> $2 and role = 'secondary' and state in ('in-service', 'recovering')`,
      [volumeId, nodeId],
    );
    return true;
  });
}

/** A rebuild of the volume is in flight at `epoch`: its new copy is the primary's peer, and no second one may start. */
export async function rebuildInFlight(db: Db | Tx, volumeId: string, epoch: number): Promise<boolean> {
  const { rows } = await db.query(`select 1 from replicas where volume_id = $1 and state = 'rebuilding' and epoch = $2 limit 1`, [
    volumeId,
    epoch,
  ]);
  return rows.length > 0;
}

/** A rebuild that cannot finish: its partial copy leaves the membership. */
export async function abandonRebuild(db: Db, volumeId: string, nodeId: string): Promise<void> {
  await db.query(`update replicas set state = 'stale', updated_at = now() where volume_id = $1 and node_id = $2 and state = 'rebuilding'`, [
    volumeId,
    nodeId,
  ]);
}

/** Each volume's state and the state of its copy on `nodeId` (null: no such copy), for the volumes asked. */
export async function copyStatesOn(
  db: Db,
  nodeId: string,
  volumeIds: string[],
): Promise<Map<string, { volume: VolumeState; copy: ReplicaState | null }>> {
  if (volumeIds.length === 0) return new Map();
  const { rows } = await db.query(
    `select v.id, v.state as volume_state, r.state as copy_state
     from volumes v left join replicas r on r.volume_id = v.id and r.node_id = $2
     where v.id = any($1)`,
    [volumeIds, nodeId],
  );
  return new Map(
    rows.map((r) => [r.id as string, { volume: r.volume_state as VolumeState, copy: (r.copy_state as ReplicaState | null) ?? null }]),
  );
}
