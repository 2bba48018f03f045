// What the fleet's health and the repair loop count, defined once in SQL: volumes under-replicated,
// volumes awaiting their owner, nodes by state, stuck server recoveries, failing repairs.
//
// "Awaiting its owner": volumes.io_state = 'paused' on a volume that exists. recordRestored pauses I/O
// and opens the 'potential-data-inconsistency' event ("Awaiting Action: Enable IO") in one
// transaction; only a decision releases both in one transaction (recordEnabled, recordTransferred),
// and archive or delete take the volume out of the served states. So the column and the open event
// agree; the column is the volume's own row (no scan of the event history) and is what the data path
// holds I/O by. A replica in state 'restored' is not exact: a superseded winner is a candidate again
// until the next election, and a later incident of the restored copy's node may move it on while
// the volume still waits.
import type { VolumeState } from '../../common/states.js';
import type { Db, Tx } from './db.js';

/** Volumes that exist and are to be served: not being created or removed, not archived, not failed. */
export const SERVED_VOLUME_STATES: VolumeState[] = ['available', 'in-use'];

/** Copies serving the volume `v`: in service on a node in service. */
const IN_SERVICE_COPIES = `(select count(*) from replicas r join nodes n on n.id = r.node_id
  where r.volume_id = v.id and r.state = 'in-service' and n.state = 'in-service')::int`;
const SERVED = `v.state = any($1::text[])`;
const AWAITING_OWNER = `v.io_state = 'paused'`;
/** An incident is open until it finishes or a newer incident of its node supersedes it. */
const OPEN_INCIDENT = `e.finished_at is null and e.superseded_at is null`;
/**
 * The node of incident `e` holds a copy (offered or elected) of a volume awaiting its owner: the
 * server recovery waits, rightly, for that decision (up to the review deadline, days).
 */
const WAITS_FOR_OWNER = `exists (select 1 from replicas r join volumes v on v.id = r.volume_id
  where r.node_id = e.node_id and r.state in ('candidate', 'restored') and ${SERVED} and ${AWAITING_OWNER})`;

export interface UnderReplicatedVolume {
  volumeId: string;
  /** 0 or 1. */
  inServiceCopies: number;
  /** Copies being rebuilt for it now. */
  rebuildingCopies: number;
}

/**
 * Volumes that exist, are not awaiting their owner and have fewer than two in-service copies;
 * fewest copies first, then by id; at most `limit`.
 */
export async function underReplicatedVolumes(db: Db | Tx, limit: number): Promise<UnderReplicatedVolume[]> {
  const { rows } = await db.query(
    `select c.id, c.copies, (select count(*)::int from replicas r where r.volume_id = c.id and r.state = 'rebuilding') as rebuilding
     from (select v.id, ${IN_SERVICE_COPIES} as copies from volumes v where ${SERVED} and not ${AWAITING_OWNER}) c
     where c.copies < 2 order by c.copies, c.id limit $2`,
    [SERVED_VOLUME_STATES, limit],
  );
  return rows.map((r) => ({ volumeId: r.id as string, inServiceCopies: r.copies as number, rebuildingCopies: r.rebuilding as number }));
}

/** How many volumes `underReplicatedVolumes` would list, and how many of them have no in-service copy at all. */
export async function countUnderReplicated(db: Db | Tx): Promise<{ underReplicated: number; withoutCopy: number }> {
  const { rows } = await db.query(
    `select count(*) filter (where copies < 2)::int as under, count(*) filter (where copies = 0)::int as none
     from (select ${IN_SERVICE_COPIES} as copies from volumes v where ${SERVED} and not ${AWAITING_OWNER}) c`,
    [SERVED_VOLUME_STATES],
  );
  return { underReplicated: rows[0].under, withoutCopy: rows[0].none };
}

/** Volumes whose restored copy holds I/O until their owner decides (see the top of this file), by id; at most `limit`. */
export async function volumesAwaitingOwner(db: Db | Tx, limit: number): Promise<string[]> {
  const { rows } = await db.query(`select v.id from volumes v where ${SERVED} and ${AWAITING_OWNER} order by v.id limit $2`, [
    SERVED_VOLUME_STATES,
    limit,
  ]);
  return rows.map((r) => r.id as string);
}

/** Which of `volumeIds` await their owner, by the same definition. */
export async function awaitingOwnerAmong(db: Db | Tx, volumeIds: string[]): Promise<Set<string>> {
  if (volumeIds.length === 0) return new Set();
  const { rows } = await db.query(`select v.id from volumes v where ${SERVED} and ${AWAITING_OWNER} and v.id = any($2::text[])`, [
    SERVED_VOLUME_STATES,
    volumeIds,
  ]);
  return new Set(rows.map((r) => r.id as string));
}

export async function countAwaitingOwner(db: Db | Tx): Promise<number> {
  const { rows } = await db.query(`select count(*)::int as n from volumes v where ${SERVED} and ${AWAITING_OWNER}`, [SERVED_VOLUME_STATES]);
  return rows[0].n;
}

export interface NodeCounts {
  inService: number;
  down: number;
  recovering: number;
  /** In service, but no heartbeat for `silentAfterMs`: what the heartbeat monitor would declare down. */
  silent: number;
  total: number;
}

/** Nodes by state; `silent` as `findSilentNodes` (nodes.ts) sees them for the same timeout. */
export async function nodeCounts(db: Db | Tx, silentAfterMs: number): Promise<NodeCounts> {
  const { rows } = await db.query(
    `select count(*) filter (where state = 'in-service')::int as in_service,
       count(*) filter (where state = 'down')::int as down,
       count(*) filter (where state = 'recovering')::int as recovering,
       count(*) filter (where state = 'in-service' and last_heartbeat < now() - make_interval(secs => $1::double precision / 1000))::int
         as silent,
       count(*)::int as total
     from nodes`,
    [silentAfterMs],
  );
  const r = rows[0];
  return { inService: r.in_service, down: r.down, recovering: r.recovering, silent: r.silent, total: r.total };
}

export interface StuckRecovery {
  workflowId: string;
  nodeId: string;
  admittedAt: Date;
}

/**
 * Server recoveries admitted more than `boundMs` ago and still open (neither finished nor
 * superseded), except those whose node holds a copy of a volume awaiting its owner: those wait
 * for a person, as they should. Oldest first.
 */
export async function stuckRecoveries(db: Db | Tx, boundMs: number): Promise<StuckRecovery[]> {
  const { rows } = await db.query(
    `select e.workflow_id, e.node_id, e.admitted_at from recovery_events e
     where ${OPEN_INCIDENT} and e.admitted_at < now() - make_interval(secs => $2::double precision / 1000) and not ${WAITS_FOR_OWNER}
     order by e.admitted_at, e.id`,
    [SERVED_VOLUME_STATES, boundMs],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id as string, nodeId: r.node_id as string, admittedAt: r.admitted_at as Date }));
}

/** Repairs the repair loop marked failing (table `repairs`). */
export async function countFailingRepairs(db: Db | Tx): Promise<number> {
  const { rows } = await db.query('select count(*)::int as n from repairs where failing');
  return rows[0].n;
}
