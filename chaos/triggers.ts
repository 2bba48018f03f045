// What a compound scenario's later faults wait for, read from the real state: the inventory
// (through the chaos cluster's db handle), Temporal (a workflow's queries and current details)
// and which node processes run. Each watcher answers the node to take down, or null for "not yet".
import type { Client } from '@temporalio/client';
import { INCONSISTENCY_EVENT } from '../api/repositories/events.js';
import { phaseQuery, volumeRecoveryId } from '../common/messages.js';
import type { ChaosCluster } from './cluster.js';
import type { TriggeredKind } from './compound-scenario.js';

export interface Target {
  nodeId: string;
  /** What was seen, for the scenario's notes. */
  seen: string;
}

export interface WatchContext {
  c: ChaosCluster;
  temporal: Client;
  /** This scenario's volumes. */
  volumes: string[];
  /** Each volume's epoch once written, before the first fault. */
  epochs: Map<string, number>;
  /** The nodes this scenario took down, and when each went down last. */
  downed: Map<string, Date>;
}

export const WATCHERS: Record<TriggeredKind, (w: WatchContext) => Promise<Target | null>> = {
  'restore-target': restoreTarget,
  'restored-holder': restoredHolder,
  'second-incident': secondIncident,
  'new-primary': newPrimary,
  'rebuild-target': rebuildTarget,
};

const RESTORING = /waiting for the restore of the copy on (\S+) \(/;

/** A volume recovery of this scenario restoring a copy: its current details name the node. */
async function restoreTarget(w: WatchContext): Promise<Target | null> {
  const { rows } = await w.c.db.query<{ id: string; epoch: number }>(`select id, epoch from volumes where id = any($1)`, [w.volumes]);
  for (const v of rows) {
    const details = await currentDetails(w.temporal, volumeRecoveryId(v.id, v.epoch));
    const nodeId = details && RESTORING.exec(details)?.[1];
    if (nodeId && running(w, nodeId)) return { nodeId, seen: `${volumeRecoveryId(v.id, v.epoch)} restoring the copy on ${nodeId}` };
  }
  return null;
}

/** A volume of this scenario awaiting its owner (an open inconsistency event): the node holding its restored copy. */
async function restoredHolder(w: WatchContext): Promise<Target | null> {
  const { rows } = await w.c.db.query<{ volume_id: string; node_id: string }>(
    `select r.volume_id, r.node_id from replicas r
     where r.volume_id = any($1) and r.state = 'restored'
       and exists (select 1 from volume_events e where e.volume_id = r.volume_id and e.code = $2 and e.ended_at is null)`,
    [w.volumes, INCONSISTENCY_EVENT],
  );
  const hit = rows.find((r) => running(w, r.node_id));
  return hit ? { nodeId: hit.node_id, seen: `${hit.volume_id} awaits its owner; its restored copy is on ${hit.node_id}` } : null;
}

/**
 * A node this scenario took down whose incident since is in configuration (back in service,
 * waiting for its volumes' decisions). A node not holding a restored copy goes first, so the
 * fault differs from `restored-holder` when it can.
 */
async function secondIncident(w: WatchContext): Promise<Target | null> {
  const downed = [...w.downed].filter(([n]) => running(w, n));
  if (!downed.length) return null;
  const { rows } = await w.c.db.query<{ node_id: string; workflow_id: string; holds_restored: boolean }>(
    `select r.node_id, r.workflow_id,
            exists (select 1 from replicas x where x.node_id = r.node_id and x.state = 'restored') as holds_restored
     from recovery_events r join unnest($1::text[], $2::timestamptz[]) as d(node_id, since) on d.node_id = r.node_id
     where r.admitted_at >= d.since and r.in_service_at is not null
     order by holds_restored, r.id desc`,
    [downed.map(([n]) => n), downed.map(([, at]) => at)],
  );
  for (const r of rows) {
    const phase = await w.temporal.workflow
      .getHandle(r.workflow_id)
      .query(phaseQuery)
      .catch(() => null);
    if (phase === 'configuration') return { nodeId: r.node_id, seen: `${r.workflow_id} in configuration` };
  }
  return null;
}

/** A volume of this scenario enabled at a newer epoch than it was written at (an enable or a failover): its primary. */
async function newPrimary(w: WatchContext): Promise<Target | null> {
  const { rows } = await w.c.db.query<{ id: string; epoch: number; node_id: string }>(
    `select v.id, v.epoch, r.node_id from volumes v
     join unnest($1::text[], $2::int[]) as s(id, epoch) on s.id = v.id
     join replicas r on r.volume_id = v.id and r.role = 'primary' and r.state = 'in-service'
     where v.io_state = 'enabled' and v.epoch > s.epoch`,
    [[...w.epochs.keys()], [...w.epochs.values()]],
  );
  const hit = rows.find((r) => running(w, r.node_id));
  return hit ? { nodeId: hit.node_id, seen: `${hit.id} enabled at epoch ${hit.epoch} with its primary on ${hit.node_id}` } : null;
}

/** A copy of this scenario's volumes being rebuilt. */
async function rebuildTarget(w: WatchContext): Promise<Target | null> {
  const { rows } = await w.c.db.query<{ volume_id: string; node_id: string }>(
    `select volume_id, node_id from replicas where volume_id = any($1) and state = 'rebuilding'`,
    [w.volumes],
  );
  const hit = rows.find((r) => running(w, r.node_id));
  return hit ? { nodeId: hit.node_id, seen: `${hit.volume_id} rebuilding a copy on ${hit.node_id}` } : null;
}

/** Whether any of the nodes had a report admitted (its recovery began) since `since`. */
export async function recoveryBegan(c: ChaosCluster, nodes: string[], since: Date): Promise<boolean> {
  const { rows } = await c.db.query(
    `select 1 from recovery_events where node_id = any($1) and admitted_at >= $2
     union all select 1 from nodes where id = any($1) and state = 'recovering' limit 1`,
    [nodes, since],
  );
  return rows.length > 0;
}

/** A workflow's current details (what the Temporal UI shows), or null when it cannot be asked. */
export async function currentDetails(temporal: Client, workflowId: string): Promise<string | null> {
  try {
    const meta = await temporal.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return meta.currentDetails ?? null;
  } catch {
    return null;
  }
}

function running(w: WatchContext, nodeId: string): boolean {
  return w.c.cluster.nodes.has(nodeId) && w.c.cluster.node(nodeId).running;
}
