// The repair loop's reads of the inventory, its two repairs that are single statements, and its
// record of what it tried (`repairs`, one row per condition while the condition lasts).
import type { RepairCopy, RepairKind, RepairNode, RepairRecord, RepairVolume } from '../../common/rules/repair.js';
import { TRANSITIONAL_STATES } from '../../common/rules/repair.js';
import type { NodeState, ReplicaState, VolumeState } from '../../common/states.js';
import type { ReplicaRole } from '../../common/types.js';
import type { Db } from './db.js';
import { awaitingOwnerAmong } from './fleet-health.js';

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const interval = (param: string) => `make_interval(secs => ${param}::double precision / 1000)`;

/** The database's clock, ms since the epoch: `updated_at` and `repairs` times are on it. */
export async function databaseNow(db: Db): Promise<number> {
  const { rows } = await db.query(`select ${ms('now()')} as now`);
  return Number(rows[0].now);
}

/** Volumes with a copy in a transitional state that has not changed for `stuckMs`, at most `limit`. */
export async function volumesWithStuckCopies(db: Db, stuckMs: number, limit: number): Promise<string[]> {
  const { rows } = await db.query(
    `select distinct volume_id from replicas where state = any($1) and updated_at < now() - ${interval('$2')}
     order by volume_id limit $3`,
    [TRANSITIONAL_STATES, stuckMs, limit],
  );
  return rows.map((r) => r.volume_id as string);
}

/** The volumes asked for, each with its copies that are not deleted. */
export async function repairVolumes(db: Db, volumeIds: string[]): Promise<RepairVolume[]> {
  if (volumeIds.length === 0) return [];
  const volumes = await db.query(`select v.id, v.state, v.epoch from volumes v where v.id = any($1) order by v.id`, [volumeIds]);
  const awaiting = await awaitingOwnerAmong(db, volumeIds);
  const copies = await db.query(
    `select volume_id, node_id, role, state, ${ms('updated_at')} as updated_at from replicas
     where volume_id = any($1) and state <> 'deleted' order by volume_id, node_id`,
    [volumeIds],
  );
  const byVolume = new Map<string, RepairCopy[]>();
  for (const r of copies.rows) {
    const copy = {
      nodeId: r.node_id as string,
      role: r.role as ReplicaRole,
      state: r.state as ReplicaState,
      updatedAt: Number(r.updated_at),
    };
    byVolume.set(r.volume_id, [...(byVolume.get(r.volume_id) ?? []), copy]);
  }
  return volumes.rows.map((v) => ({
    volumeId: v.id as string,
    state: v.state as VolumeState,
    epoch: v.epoch as number,
    awaitingOwner: awaiting.has(v.id as string),
    copies: byVolume.get(v.id) ?? [],
  }));
}

/** The nodes asked for and every recovering node; `heard`: a heartbeat within `heartbeatTimeoutMs`. */
export async function repairNodes(db: Db, nodeIds: string[], heartbeatTimeoutMs: number): Promise<RepairNode[]> {
  const { rows } = await db.query(
    `select n.id, n.state, n.fresh_until > now() as fresh, n.last_heartbeat > now() - ${interval('$2')} as heard,
       coalesce((select max(e.id) from recovery_events e where e.node_id = n.id), 0)::float8 as newest
     from nodes n where n.id = any($1) or n.state = 'recovering' order by n.id`,
    [nodeIds, heartbeatTimeoutMs],
  );
  return rows.map((r) => ({
    nodeId: r.id as string,
    state: r.state as NodeState,
    fresh: r.fresh as boolean,
    heard: r.heard as boolean,
    newestIncident: Number(r.newest),
  }));
}

/** Nodes in the fleet, and those the mass-outage breaker counts as unreachable (down, or silent half a timeout). */
export async function fleetReachability(db: Db, heartbeatTimeoutMs: number): Promise<{ total: number; unreachable: number }> {
  const { rows } = await db.query(
    `select count(*)::int as total,
       count(*) filter (where state = 'down' or (state = 'in-service' and last_heartbeat < now() - ${interval('$1')} / 2))::int as unreachable
     from nodes`,
    [heartbeatTimeoutMs],
  );
  return { total: rows[0].total as number, unreachable: rows[0].unreachable as number };
}

/**
 * Declares a node down so that its next heartbeat asks it to report (a new incident re-examines
 * every copy). Only from `from`, and only if no incident newer than `newestIncident` was admitted
 * meanwhile: a report already on its way is not asked for twice.
 */
export async function askToReport(db: Db, nodeId: string, from: NodeState, newestIncident: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update nodes set state = 'down' where id = $1 and state = $2
       and coalesce((select max(e.id) from recovery_events e where e.node_id = $1), 0) = $3`,
    [nodeId, from, newestIncident],
  );
  return rowCount === 1;
}

/** A rebuilding copy left for `stuckMs` leaves the membership; false when it moved on meanwhile (it finished, or was taken up). */
export async function abandonStuckRebuild(db: Db, volumeId: string, nodeId: string, stuckMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update replicas set state = 'stale', updated_at = now()
     where volume_id = $1 and node_id = $2 and state = 'rebuilding' and updated_at < now() - ${interval('$3')}`,
    [volumeId, nodeId, stuckMs],
  );
  return rowCount === 1;
}

export async function listRepairs(db: Db): Promise<RepairRecord[]> {
  const { rows } = await db.query(
    `select subject, kind, attempts, last_error, ${ms('next_attempt_at')} as next_attempt_at, failing from repairs order by subject`,
  );
  return rows.map((r) => ({
    subject: r.subject as string,
    kind: r.kind as RepairKind,
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: Number(r.next_attempt_at),
    failing: r.failing as boolean,
  }));
}

/** Writes what a pass changed; `attempted` rows also take the time of this attempt. */
export async function saveRepairs(db: Db, rows: (RepairRecord & { attempted: boolean })[]): Promise<void> {
  for (const r of rows) {
    await db.query(
      `insert into repairs (subject, kind, attempts, last_error, last_attempt_at, next_attempt_at, failing)
       values ($1, $2, $3, $4, case when $7 then now() end, to_timestamp($5::double precision / 1000), $6)
       on conflict (subject) do update set kind = excluded.kind, attempts = excluded.attempts, last_error = excluded.last_error,
         last_attempt_at = coalesce(excluded.last_attempt_at, repairs.last_attempt_at),
         next_attempt_at = excluded.next_attempt_at, failing = excluded.failing`,
      [r.subject, r.kind, r.attempts, r.lastError, r.nextAttemptAt, r.failing, r.attempted],
    );
  }
}

/** Conditions that are gone: their records go. */
export async function dropRepairs(db: Db, subjects: string[]): Promise<void> {
  if (subjects.length) await db.query('delete from repairs where subject = any($1)', [subjects]);
}
